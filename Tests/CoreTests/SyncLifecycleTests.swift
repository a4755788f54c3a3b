import Foundation
import Spec
import Support
import Testing

@testable import Core

/// Records what the engine asks of synced folders; `refusal` makes preflight fail.
final class RecordingSyncer: FolderSyncer, @unchecked Sendable {
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  /// The fixture's guest, whose command list shows the order of everything.
  @Guarded var guest = FakeGuest()
  @Guarded var refusal: CaravanError? = nil
  var support: SettingSupport { SettingSupport(settings: ["sync"]) }
  func preflight(_ machine: MachineSpec, projectRoot: String) throws {
    guest.commands.append("preflight")
    if let refusal { throw refusal }
  }
  func sharedFolders(_ machine: MachineSpec, projectRoot: String) throws -> [SharedFolder] {
    machine.syncs.filter { $0.kind == .ninep }.map {
      SharedFolder(kind: .ninep, hostPath: projectRoot + "/" + $0.source, tag: "t-" + $0.destination)
    }
  }
  func sync(
    _ folder: SyncSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator,
    reporter: Reporter
  ) throws {
    guest.commands.append("sync \(folder.summary)")
  }
}

/// The engine's side of synced folders, against a fake hypervisor and guest.
struct SyncLifecycleTests {
  static let machinefile = """
    box "caravan/debian-12"
    sync "./a" -> "/a"
    sync "./b" -> "/b", type: 9p
    sync "./c" -> "/c", disabled: true
    provision shell, name: "first", inline: "true"
    """

  @Test func foldersAreSyncedAfterSSHBeforeProvisionersAtUpReloadAndRsync() throws {
    let syncer = RecordingSyncer()
    let f = try Fixture(SyncLifecycleTests.machinefile, syncer: syncer)
    defer { f.cleanUp() }
    syncer.guest = f.guest
    let guest = f.guest
    let lifecycle = f.lifecycle
    let events = f.root + "/events.jsonl"
    try FileManager.default.createDirectory(atPath: f.root, withIntermediateDirectories: true)
    lifecycle.events = try EventLog(path: events, project: f.project.root)
    try lifecycle.up(f.project.spec.machines, provision: nil)
    let relevant = guest.commands.filter { $0.hasPrefix("sync") || $0.hasPrefix("provision") || $0 == "preflight" }
    #expect(
      relevant == ["preflight", "sync ./a -> /a (rsync)", "sync ./b -> /b (9p)", "provision first"], "\(relevant)")
    #expect(f.hypervisor.plans.last?.sharedFolders.map(\.tag) == ["t-/b"])
    #expect(!f.reporter.lines.contains { $0.contains("not supported yet") }, "\(f.reporter.lines)")
    let details = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n").compactMap {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.filter { $0["step"] as? String == "sync" && $0["phase"] as? String == "end" }.map { $0["detail"] as? String }
    #expect(details == ["./a -> /a (rsync)", "./b -> /b (9p)"])

    let domain = f.project.domainName(for: "default")
    f.guest.onPoweroff = { f.hypervisor.domains[domain]?.status = .poweroff }
    guest.commands.removeAll()
    try lifecycle.reload(f.project.spec.machines, provision: false)
    #expect(guest.commands.filter { $0.hasPrefix("sync") } == ["sync ./a -> /a (rsync)", "sync ./b -> /b (9p)"])

    guest.commands.removeAll()
    try lifecycle.rsync(f.project.spec.machines)
    #expect(
      guest.commands.filter { $0.hasPrefix("sync") } == ["sync ./a -> /a (rsync)"], "rsync copies, it does not mount")
  }

  @Test func aRefusedFolderStopsUpBeforeAnythingIsMade() throws {
    let syncer = RecordingSyncer()
    syncer.refusal = CaravanError(.notFound, "machine 'default': the synced folder './b' needs virtiofsd")
    let f = try Fixture(SyncLifecycleTests.machinefile, syncer: syncer)
    defer { f.cleanUp() }
    #expect(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(f.hypervisor.calls.isEmpty, "\(f.hypervisor.calls)")
    #expect(try f.project.loadRecord("default") == nil)
  }

  @Test func withoutASyncerSyncIsNamedAsNotSupported() throws {
    let f = try Fixture(SyncLifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(
      f.reporter.lines.contains { $0.contains("'sync'") && $0.contains("not supported yet") }, "\(f.reporter.lines)")
  }

  @Test func rsyncOfAMachineThatIsNotRunningSaysHowToStartIt() throws {
    let syncer = RecordingSyncer()
    let f = try Fixture(SyncLifecycleTests.machinefile, syncer: syncer)
    defer { f.cleanUp() }
    let guest = f.guest
    syncer.guest = guest
    #expect(throws: CaravanError.self) { try f.lifecycle.rsync(f.project.spec.machines) }
    #expect(!guest.commands.contains { $0.hasPrefix("sync") })
  }
}
