import Foundation
import Spec
import Support

/// The machine's own SSH key: made once, kept in `.caravan/machines/NAME/` and
/// copied to `$CARAVAN_HOME/keys/machines/DOMAIN/`, so a deleted `.caravan/`
/// never locks the user out of a machine that still runs. Never deleted but by
/// `destroy`.
extension Lifecycle {
  func keyCopyPath(_ machine: String) -> String {
    CaravanPaths.home(environment: environment) + "/keys/machines/\(project.domainName(for: machine))/id_ed25519"
  }

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

  func removeMachineKeyCopy(_ name: String) throws {
    try FileSystem.removeTree((keyCopyPath(name) as NSString).deletingLastPathComponent)
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
