import Foundation
import Spec
import Support
import Testing

@testable import Core

/// snapshot save|restore|list|delete|push|pop against the fake hypervisor.
struct SnapshotTests {
  @Test func saveRestoreListDeleteKeepTheMachinesRecord() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let record = try f.project.loadRecord("default")
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    #expect(f.hypervisor.calls == ["snapshot \(domain) s1"])
    #expect(try f.lifecycle.listSnapshots(machines).first?.snapshots.map(\.name) == ["s1"])

    let duplicate = try #require(throws: CaravanError.self) { try f.lifecycle.saveSnapshot(machines, name: "s1") }
    #expect(duplicate.message == "machine 'default' already has a snapshot 's1'")
    try f.lifecycle.saveSnapshot(machines, name: "s1", force: true)
    #expect(
      f.hypervisor.calls.suffix(4) == [
        "snapshot \(domain) caravan-replacing-s1", "delete-snapshot \(domain) s1", "snapshot \(domain) s1",
        "delete-snapshot \(domain) caravan-replacing-s1",
      ], "the new one is taken before the old one goes")
    #expect(try f.lifecycle.listSnapshots(machines).first?.snapshots.map(\.name) == ["s1"])

    f.hypervisor.domains[domain]?.status = .poweroff
    try f.lifecycle.restoreSnapshot(machines, name: "s1")
    #expect(f.hypervisor.calls.last == "revert \(domain) s1")
    #expect(try f.lifecycle.status(machines).first?.status == .running, "a running snapshot comes back running")
    #expect(try f.project.loadRecord("default") == record, "the record (key, ports, provisioners) stays")
    #expect(f.reporter.lines.contains { $0.contains("SSH is up") }, "SSH is waited for")

    try f.lifecycle.deleteSnapshot(machines, name: "s1")
    #expect(try f.lifecycle.listSnapshots(machines).first?.snapshots.isEmpty == true)
  }

  /// A replacement that cannot be taken leaves the old snapshot as it was; one whose
  /// second take fails keeps the new state under the temporary name and says so.
  @Test func aFailedForcedSaveKeepsTheOldSnapshot() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    let old = try #require(try f.hypervisor.snapshots(domain: domain).first)
    f.hypervisor.failingSnapshots = ["caravan-replacing-s1"]
    #expect(throws: CaravanError.self) { try f.lifecycle.saveSnapshot(machines, name: "s1", force: true) }
    #expect(try f.hypervisor.snapshots(domain: domain) == [old], "the old snapshot is untouched")
    #expect(!f.hypervisor.calls.contains("delete-snapshot \(domain) s1"))

    f.hypervisor.failingSnapshots = ["s1"]
    let late = try #require(throws: CaravanError.self) {
      try f.lifecycle.saveSnapshot(machines, name: "s1", force: true)
    }
    #expect(late.message.hasPrefix("machine 'default': the old snapshot 's1' is replaced, but "), "\(late)")
    #expect(late.hint?.contains("`caravan snapshot restore caravan-replacing-s1`") == true, "\(late)")
    #expect(try f.hypervisor.snapshots(domain: domain).map(\.name) == ["caravan-replacing-s1"])
  }

  /// A running machine with a 9p folder cannot save its memory: refused before anything
  /// is taken or deleted; halted, its disk is taken.
  @Test func aRunningNinepMachineIsRefusedBeforeAnythingIsDeleted() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    var machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    var shared = SyncSpec(source: "./shared", destination: "/mnt/shared")
    shared.kind = .ninep
    machines[0].syncs = [shared]
    let calls = f.hypervisor.calls
    let refused = try #require(throws: CaravanError.self) {
      try f.lifecycle.saveSnapshot(machines, name: "s1", force: true)
    }
    #expect(
      refused.message
        == "cannot take a snapshot of machine 'default' while it runs: its 9p folder './shared' keeps QEMU from saving its memory"
    )
    #expect(refused.hint?.contains("`caravan halt`") == true)
    #expect(f.hypervisor.calls == calls, "nothing taken, nothing deleted")
    #expect(throws: CaravanError.self) { try f.lifecycle.pushSnapshot(machines) }
    f.hypervisor.domains[domain]?.status = .poweroff
    try f.lifecycle.saveSnapshot(machines, name: "s1", force: true)
    #expect(try f.hypervisor.snapshots(domain: domain).map(\.name) == ["s1"])
    #expect(try f.hypervisor.snapshots(domain: domain).first?.state == .poweroff)
  }

  @Test func anUnknownSnapshotIsAnErrorListingTheNames() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let none = try #require(throws: CaravanError.self) { try f.lifecycle.restoreSnapshot(machines, name: "s9") }
    #expect(none.message == "machine 'default' has no snapshot 's9'")
    #expect(none.hint == "It has no snapshots; `caravan snapshot save NAME` takes one.")
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    try f.lifecycle.saveSnapshot(machines, name: "s2")
    let some = try #require(throws: CaravanError.self) { try f.lifecycle.deleteSnapshot(machines, name: "s9") }
    #expect(some.hint == "Its snapshots: s1, s2.")
  }

  @Test func restoreOfASavedMachineDiscardsItsMemoryFirst() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    try f.lifecycle.suspend(machines)
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.saveSnapshot(machines, name: "s2") }
    #expect(
      error.message == "cannot take a snapshot of machine 'default': it is saved; resume it with `caravan resume`")
    try f.lifecycle.restoreSnapshot(machines, name: "s1")
    #expect(f.hypervisor.calls.suffix(2) == ["discard \(domain)", "revert \(domain) s1"])
  }

  @Test func pushAndPopFormAStack() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "named")
    try f.lifecycle.pushSnapshot(machines)
    try f.lifecycle.pushSnapshot(machines)
    #expect(try f.lifecycle.listSnapshots(machines).first?.snapshots.map(\.name) == ["named", "push-1", "push-2"])
    try f.lifecycle.popSnapshot(machines)
    #expect(f.hypervisor.calls.suffix(2) == ["revert \(domain) push-2", "delete-snapshot \(domain) push-2"])
    try f.lifecycle.popSnapshot(machines)
    #expect(try f.lifecycle.listSnapshots(machines).first?.snapshots.map(\.name) == ["named"])
    let empty = try #require(throws: CaravanError.self) { try f.lifecycle.popSnapshot(machines) }
    #expect(empty.message == "machine 'default' has no pushed snapshot to pop")
  }

  @Test func snapshotsOfAMachineThatIsNotCreatedSayToRunUp() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.saveSnapshot(f.project.spec.machines, name: "s1")
    }
    #expect(error.message == "cannot take a snapshot of machine 'default': it is not created; run `caravan up`")
  }

  @Test func snapshotNamesAreChecked() throws {
    for good in ["s1", "before-upgrade", "v1.2_3"] {
      try Lifecycle.checkSnapshotName(good)
    }
    for bad in ["", "-x", "a b", "a/b", "ü", String(repeating: "a", count: 65)] {
      #expect(throws: CaravanError.self, "\(bad)") { try Lifecycle.checkSnapshotName(bad) }
    }
  }
}
