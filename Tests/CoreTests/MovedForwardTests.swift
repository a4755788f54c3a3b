import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// Saved memory and snapshots come back with the forwards they were saved with;
/// a host port another program took since moves (issue 21: "a port another suite
/// took is never a failure"), against the fake hypervisor.
struct MovedForwardTests {
  @Test func resumeMovesAnSSHPortTakenWhileSuspended() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let before = try #require(try f.project.loadRecord("default"))
    try f.lifecycle.suspend(machines)
    f.hypervisor.heldPorts = [before.sshPort]

    try f.lifecycle.resume(machines)
    let after = try #require(try f.project.loadRecord("default"))
    #expect(after.sshPort != before.sshPort && PortAllocator.correctionRange.contains(after.sshPort))
    #expect(f.hypervisor.calls.contains("move \(domain) \(before.sshPort) \(after.sshPort)"), "\(f.hypervisor.calls)")
    #expect(try f.lifecycle.status(machines).first?.status == .running)
    #expect(
      f.reporter.lines.contains {
        $0.contains(
          "host port 127.0.0.1:\(before.sshPort) for SSH was taken by another program; moving it to \(after.sshPort)")
      }, "\(f.reporter.lines)")
    #expect(after.forwards.first?.description == "tcp 127.0.0.1:\(after.sshPort) -> 22")
    #expect(after.forwards.dropFirst() == before.forwards.dropFirst(), "the other forwards stay")
    #expect(try f.lifecycle.forwards(of: machines[0]).first?.host == after.sshPort, "`caravan port` says the new one")
  }

  @Test func aSnapshotRestoreMovesAForwardThatAllowsItAndRefusesOneThatDoesNot() throws {
    let (f, domain) = try StateRulesTests.upFixture()  // auto_correct is true unless said
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    f.hypervisor.heldPorts = [8080]
    try f.lifecycle.restoreSnapshot(machines, name: "s1")
    let record = try #require(try f.project.loadRecord("default"))
    let moved = try #require(record.forwards.last)
    #expect(moved.guest == 80 && moved.host != 8080, "\(record.forwards)")
    #expect(
      f.hypervisor.calls.suffix(3) == [
        "revert \(domain) s1", "move \(domain) 8080 \(moved.host)", "revert \(domain) s1",
      ])

    // With `auto_correct: false` the port is the user's choice: named, with the fix; nothing moved.
    let fixed = """
      box "caravan/debian-12"
      forward 8080 -> 80, auto_correct: false
      """
    let (g, other) = try StateRulesTests.upFixture(fixed)
    defer { g.cleanUp() }
    try g.lifecycle.saveSnapshot(g.project.spec.machines, name: "s1")
    g.hypervisor.heldPorts = [8080]
    let refused = try #require(throws: CaravanError.self) {
      try g.lifecycle.restoreSnapshot(g.project.spec.machines, name: "s1")
    }
    #expect(refused.message == "host port 127.0.0.1:8080 for forward 8080 -> 80 is already in use", "\(refused)")
    #expect(refused.hint?.contains("auto_correct: true") == true)
    #expect(!g.hypervisor.calls.contains { $0.hasPrefix("move \(other)") })
  }

  /// libvirt's error may not say which port (QEMU's words reached the log after
  /// libvirt read it, on a busy host): the log of that start does (issue 21's CI
  /// run: "failed to connect to monitor socket: Connection refused" on a restore).
  @Test func aPortNamedOnlyInQEMUsLogMovesToo() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    f.hypervisor.heldPorts = [8080]
    f.hypervisor.logLate = true
    try f.lifecycle.restoreSnapshot(machines, name: "s1")
    let record = try #require(try f.project.loadRecord("default"))
    let moved = try #require(record.forwards.last)
    #expect(moved.guest == 80 && moved.host != 8080, "\(record.forwards)")
    #expect(f.hypervisor.calls.suffix(2) == ["move \(domain) 8080 \(moved.host)", "revert \(domain) s1"])

    // Another failure with nothing in the log is passed on as it was.
    f.hypervisor.startLogs = [:]
    #expect(
      f.lifecycle.unboundPort(after: CaravanError(.hypervisor, "failed to connect to monitor socket"), domain: domain)
        == nil)
  }

  @Test func aFailureThatIsNotOneOfItsPortsIsPassedOn() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    f.hypervisor.heldPorts = [9999]
    try f.lifecycle.restoreSnapshot(machines, name: "s1")  // not its port: no failure, nothing moved
    #expect(!f.hypervisor.calls.contains { $0.hasPrefix("move") })
    #expect(Lifecycle.unboundPort(in: "could not start: No space left on device") == nil)
  }
}
