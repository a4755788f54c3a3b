import Foundation
import Host
import Spec
import Support

/// The machine's own SSH key: made once, kept in `.caravan/machines/NAME/` and
/// copied to `$CARAVAN_HOME/keys/machines/DOMAIN/`, so a deleted `.caravan/`
/// never locks the user out of a machine that still runs. Beside the copy, the
/// machine's record for each libvirt URI it was made on (`record-HASH.json`, the
/// disk's mark): what was done on its disk, found again when the disk is still
/// in the pool but its domain and `.caravan/` are gone. The copy is deleted only
/// by a `destroy` (or a failed first `up`) that removed the machine it belongs to.
extension Lifecycle {
  /// `$CARAVAN_HOME/keys/machines/DOMAIN`: the key copy and the records.
  func machineHome(_ machine: String) -> String {
    CaravanPaths.home(environment: environment) + "/keys/machines/\(project.domainName(for: machine))"
  }

  func keyCopyPath(_ machine: String) -> String { machineHome(machine) + "/id_ed25519" }

  /// This libvirt URI's record of the machine (its disk's mark).
  func markPath(_ machine: String) -> String {
    machineHome(machine) + "/" + Lifecycle.markPrefix + StableHash.hex(hypervisor.uri, length: 12) + ".json"
  }

  static let markPrefix = "record-"

  /// The machine's key, restored from its copy when `.caravan/` lost it, else
  /// made; the copy is kept in step.
  func ensureMachineKey(_ machine: MachineSpec) throws -> String {
    let path = project.keyPath(machine.name)
    try restoreMachineKey(machine.name)
    if !FileSystem.exists(path) {
      try FileSystem.makeDirectory(project.machineDirectory(machine.name), mode: 0o700)
      try communicators.generateKey(at: path, comment: "caravan \(machine.name) \(project.root)")
    }
    let copy = keyCopyPath(machine.name)
    if !FileSystem.exists(copy) || !FileSystem.exists(copy + ".pub") {
      try copyKey(path, to: copy)
    }
    return path
  }

  /// Puts the copy back when `.caravan/` has lost the key.
  func restoreMachineKey(_ name: String) throws {
    let path = project.keyPath(name)
    let copy = keyCopyPath(name)
    guard !FileSystem.exists(path), FileSystem.exists(copy), FileSystem.exists(copy + ".pub") else { return }
    try copyKey(copy, to: path)
    reporter.step(name, "restored its SSH key from \(copy)")
  }

  /// Keeps `record` as the mark of the machine's disk on this URI.
  func saveMark(_ record: MachineRecord, for name: String) throws {
    try FileSystem.makeDirectory(machineHome(name), mode: 0o700)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileSystem.writeAtomically(try encoder.encode(record), to: markPath(name))
  }

  /// The mark of the machine's disk on this URI; nil when there is none (or it cannot be read).
  func loadMark(_ name: String) -> MachineRecord? {
    guard let data = FileManager.default.contents(atPath: markPath(name)),
      let record = try? JSONDecoder().decode(MachineRecord.self, from: data), record.libvirtURI == hypervisor.uri
    else { return nil }
    return record
  }

  /// After the machine was removed from this URI (`removedMachine`: this command removed
  /// its domain or disk): its mark goes, and the key copy too unless the machine is
  /// still on another URI (that URI's mark is there). A copy without any mark (an older
  /// Caravan's) goes only with a machine this command removed: it may be another URI's.
  func releaseMachineHome(_ name: String, removedMachine: Bool) throws {
    let folder = machineHome(name)
    let hadMark = FileSystem.exists(markPath(name))
    if hadMark { try FileSystem.removeTree(markPath(name)) }
    let others = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
      $0.hasPrefix(Lifecycle.markPrefix)
    }
    guard others.isEmpty else {
      reporter.step(name, "its SSH key copy in \(folder) is kept: the machine is on another libvirt URI too")
      return
    }
    guard hadMark || removedMachine else { return }
    try FileSystem.removeTree(folder)
  }

  /// Copies a key pair (`PATH` and `PATH.pub`) into a 0700 folder, each file 0600.
  private func copyKey(_ source: String, to target: String) throws {
    try FileSystem.makeDirectory((target as NSString).deletingLastPathComponent, mode: 0o700)
    for suffix in ["", ".pub"] {
      try FileSystem.writeAtomically(try read(source + suffix), to: target + suffix, mode: 0o600)
    }
  }

  private func read(_ path: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CaravanError(.io, "cannot read the SSH key '\(path)'", hint: "Check the file and its permissions.")
    }
    return data
  }
}
