import Foundation
import Spec
import Support

/// `caravan snapshot save|restore|list|delete|push|pop`: internal snapshots
/// kept in the machine's qcow2 disk, with the guest's memory when it runs.
/// A restore puts the guest back as it was; the machine keeps its record
/// (`.caravan/`), its key and its ports.
extension Lifecycle {
  /// Names `snapshot push` gives: `push-1`, `push-2`, …; `pop` takes the highest.
  static let pushPrefix = "push-"

  /// A snapshot name Caravan accepts: letters, digits, `.`, `_` and `-`, starting
  /// with a letter or digit, at most 64 characters.
  public static func checkSnapshotName(_ name: String) throws {
    let allowed = name.unicodeScalars.allSatisfy {
      $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
    }
    guard !name.isEmpty, name.count <= 64, allowed, let first = name.unicodeScalars.first,
      CharacterSet.alphanumerics.contains(first)
    else {
      throw CaravanError(
        .invalidInput, "'\(name)' cannot be a snapshot name",
        hint: "Use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 64 characters).")
    }
  }

  /// Takes snapshot `name` of each machine (running: with its memory; powered
  /// off: its disk). An existing snapshot of that name is an error unless `force`;
  /// then the new one is taken first and the old one goes only once it exists.
  public func saveSnapshot(_ machines: [MachineSpec], name: String, force: Bool = false) throws {
    try Lifecycle.checkSnapshotName(name)
    let targets = try machines.map { try snapshotTarget($0, action: "take a snapshot of", allowSaved: false) }
    var replacing: [String: Bool] = [:]
    for (machine, record) in targets {
      try checkMemorySnapshot(machine, record: record)
      let existing = try savedStates.snapshots(domain: record.domainName)
      replacing[machine.name] = existing.contains { $0.name == name }
      if replacing[machine.name] == true, !force {
        throw CaravanError(
          .conflict, "machine '\(machine.name)' already has a snapshot '\(name)'",
          hint:
            "Choose another name, replace it with `caravan snapshot save --force\(argument(for: machine)) \(name)`, or delete it with `caravan snapshot delete\(argument(for: machine)) \(name)`."
        )
      }
    }
    for (machine, record) in targets {
      if replacing[machine.name] == true {
        try replaceSnapshot(machine, record: record, name: name)
      } else {
        try takeSnapshot(machine, record: record, name: name, description: "caravan snapshot save")
      }
    }
  }

  /// The name a replacement is first taken under (libvirt keeps one snapshot per name).
  static func replacementName(_ name: String) -> String { "caravan-replacing-" + name }

  /// Replaces snapshot `name`: the new state is taken under a temporary name, the old
  /// snapshot is deleted only then, the new one taken under `name`, and the temporary
  /// one deleted. An internal snapshot cannot be renamed (its name is in the qcow2 file),
  /// so it is taken twice. A failure at any point leaves a snapshot with the old or
  /// the new state, and says which.
  func replaceSnapshot(_ machine: MachineSpec, record: MachineRecord, name: String) throws {
    let domain = record.domainName
    let temporary = Lifecycle.replacementName(name)
    if try savedStates.snapshots(domain: domain).contains(where: { $0.name == temporary }) {
      // Left by a replacement that was cut short; the snapshot `name` is still there.
      try savedStates.deleteSnapshot(domain: domain, name: temporary)
    }
    reporter.step(machine.name, "replacing snapshot '\(name)': the new one first")
    try takeSnapshot(machine, record: record, name: temporary, description: "caravan snapshot save (replacing)")
    do {
      try savedStates.deleteSnapshot(domain: domain, name: name)
    } catch {
      try? savedStates.deleteSnapshot(domain: domain, name: temporary)
      throw error
    }
    do {
      try takeSnapshot(machine, record: record, name: name, description: "caravan snapshot save")
    } catch let error as CaravanError {
      throw CaravanError(
        error.kind, "machine '\(machine.name)': the old snapshot '\(name)' is replaced, but \(error.message)",
        hint:
          "The new state is kept as snapshot '\(temporary)': `caravan snapshot restore\(argument(for: machine)) \(temporary)` restores it.",
        cause: error)
    }
    try savedStates.deleteSnapshot(domain: domain, name: temporary)
  }

  /// A machine whose domain shares a host folder (9p, virtiofs) cannot have its memory
  /// saved (QEMU blocks it while the folder is mounted): refused while it runs, before
  /// anything is taken or deleted. Powered off, its disk alone is taken.
  func checkMemorySnapshot(_ machine: MachineSpec, record: MachineRecord) throws {
    guard
      let shared = machine.syncs.first(where: { !$0.disabled && ($0.kind == .ninep || $0.kind == .virtiofs) }),
      try hypervisor.status(domain: record.domainName) != .poweroff
    else { return }
    throw CaravanError(
      .conflict,
      "cannot take a snapshot of machine '\(machine.name)' while it runs: its \(shared.kind.rawValue) folder '\(shared.source)' keeps QEMU from saving its memory",
      hint:
        "Halt it first (`caravan halt\(argument(for: machine))`): a snapshot of a halted machine takes its disk. Or use `type: rsync` for the folder."
    )
  }

  func takeSnapshot(_ machine: MachineSpec, record: MachineRecord, name: String, description: String) throws {
    let status = try hypervisor.status(domain: record.domainName)
    reporter.step(
      machine.name,
      status == .poweroff ? "taking snapshot '\(name)' of its disk" : "taking snapshot '\(name)' (disk and memory)")
    let started = Date()
    try track(machine.name, .snapshot, detail: "save \(name)") {
      try savedStates.createSnapshot(domain: record.domainName, name: name, description: description)
    }
    reporter.step(machine.name, "snapshot '\(name)' taken in \(Lifecycle.seconds(since: started))")
  }

  /// Puts each machine back as snapshot `name` has it. Every machine is checked
  /// to have the snapshot before any is touched.
  public func restoreSnapshot(_ machines: [MachineSpec], name: String) throws {
    let targets = try machines.map { machine -> (MachineSpec, MachineRecord) in
      let (machine, record) = try snapshotTarget(machine, action: "restore a snapshot of", allowSaved: true)
      _ = try snapshot(named: name, of: machine, record: record)
      return (machine, record)
    }
    for (machine, record) in targets {
      try restore(machine, record: record, name: name)
    }
  }

  func restore(_ machine: MachineSpec, record: MachineRecord, name: String) throws {
    let domain = record.domainName
    let before = try hypervisor.status(domain: domain)
    closeSharedConnection(machine, record: record)
    if before == .saved {
      // The saved memory belongs to the state being thrown away.
      reporter.step(machine.name, "discarding its saved memory")
      try savedStates.discardSavedMemory(domain: domain)
    }
    reporter.step(machine.name, "restoring snapshot '\(name)'")
    let started = Date()
    let restored = try track(machine.name, .snapshot, detail: "restore \(name)") {
      try bringBack(machine, record: record, from: .snapshot(name)) {
        try savedStates.revertToSnapshot(domain: domain, name: name)
      }
    }
    let after = try hypervisor.status(domain: domain)
    reporter.step(machine.name, "snapshot '\(name)' restored in \(Lifecycle.seconds(since: started)); it is \(after)")
    if after == .running {
      let communicator = communicators.communicator(for: try endpoint(for: machine, record: restored, shared: true))
      // The shared connection stays up for ControlPersist (60 s): the next command reuses it.
      try waitForSSH(machine, record: restored, communicator: communicator)
    } else if after == .poweroff {
      reporter.step(machine.name, "`caravan up\(argument(for: machine))` boots it")
    }
  }

  /// Each machine's snapshots, oldest first.
  public func listSnapshots(_ machines: [MachineSpec]) throws -> [(machine: String, snapshots: [SnapshotInfo])] {
    try machines.map { machine in
      let (machine, record) = try snapshotTarget(machine, action: "list the snapshots of", allowSaved: true)
      return (machine.name, try savedStates.snapshots(domain: record.domainName))
    }
  }

  /// Deletes snapshot `name` of each machine; each must have it.
  public func deleteSnapshot(_ machines: [MachineSpec], name: String) throws {
    let targets = try machines.map { machine -> (MachineSpec, MachineRecord) in
      let (machine, record) = try snapshotTarget(machine, action: "delete a snapshot of", allowSaved: true)
      _ = try snapshot(named: name, of: machine, record: record)
      return (machine, record)
    }
    for (machine, record) in targets {
      try track(machine.name, .snapshot, detail: "delete \(name)") {
        try savedStates.deleteSnapshot(domain: record.domainName, name: name)
      }
      reporter.step(machine.name, "snapshot '\(name)' deleted")
    }
  }

  /// Takes a snapshot named `push-N` (one more than the highest pushed) of each machine.
  public func pushSnapshot(_ machines: [MachineSpec]) throws {
    let targets = try machines.map { try snapshotTarget($0, action: "push a snapshot of", allowSaved: false) }
    for (machine, record) in targets { try checkMemorySnapshot(machine, record: record) }
    for (machine, record) in targets {
      let pushed = try savedStates.snapshots(domain: record.domainName).compactMap { Lifecycle.pushNumber($0.name) }
      let name = Lifecycle.pushPrefix + String((pushed.max() ?? 0) + 1)
      try takeSnapshot(machine, record: record, name: name, description: "caravan snapshot push")
    }
  }

  /// Restores each machine's newest pushed snapshot and deletes it.
  public func popSnapshot(_ machines: [MachineSpec]) throws {
    let targets = try machines.map { machine -> (MachineSpec, MachineRecord, String) in
      let (machine, record) = try snapshotTarget(machine, action: "pop a snapshot of", allowSaved: true)
      let all = try savedStates.snapshots(domain: record.domainName)
      guard let newest = all.compactMap({ s in Lifecycle.pushNumber(s.name).map { ($0, s.name) } }).max(by: <) else {
        throw CaravanError(
          .notFound, "machine '\(machine.name)' has no pushed snapshot to pop",
          hint: "`caravan snapshot push\(argument(for: machine))` pushes one.")
      }
      return (machine, record, newest.1)
    }
    for (machine, record, name) in targets {
      try restore(machine, record: record, name: name)
      try track(machine.name, .snapshot, detail: "delete \(name)") {
        try savedStates.deleteSnapshot(domain: record.domainName, name: name)
      }
      reporter.step(machine.name, "snapshot '\(name)' popped (deleted)")
    }
  }

  /// N of a `push-N` name.
  static func pushNumber(_ name: String) -> Int? {
    guard name.hasPrefix(pushPrefix) else { return nil }
    return Int(name.dropFirst(pushPrefix.count))
  }

  /// The snapshot `name` of the machine, or an error listing the ones it has.
  func snapshot(named name: String, of machine: MachineSpec, record: MachineRecord) throws -> SnapshotInfo {
    let all = try savedStates.snapshots(domain: record.domainName)
    if let found = all.first(where: { $0.name == name }) { return found }
    throw CaravanError(
      .notFound, "machine '\(machine.name)' has no snapshot '\(name)'",
      hint: all.isEmpty
        ? "It has no snapshots; `caravan snapshot save\(argument(for: machine)) NAME` takes one."
        : "Its snapshots: \(all.map(\.name).joined(separator: ", ")).")
  }

  /// The record of a machine that has a domain to take snapshots of; a saved
  /// (suspended) one only when `allowSaved`.
  func snapshotTarget(_ machine: MachineSpec, action: String, allowSaved: Bool) throws -> (MachineSpec, MachineRecord) {
    let state = try reconcile(machine)
    let errors = stateErrors(machine, action: action)
    switch state {
    case .tracked(.running, let record), .tracked(.poweroff, let record), .tracked(.paused, let record):
      return (machine, record)
    case .tracked(.saved, let record) where allowSaved:
      return (machine, record)
    case .tracked(.crashed, let record) where allowSaved:
      return (machine, record)
    case .untracked:
      throw errors.untracked(domain: project.domainName(for: machine.name), stateDirectory: project.stateDirectory)
    default:
      throw errors.notRunning(state.status)
    }
  }
}
