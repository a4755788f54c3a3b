import Foundation
import Spec
import Support
import Testing

@testable import Core

/// suspend, resume, reload and port against the fake hypervisor: what each does
/// in each state, and the words of the errors for a state where it makes no sense.
struct StateRulesTests {
  static let machinefile = """
    box "caravan/debian-12"
    hostname "web.local"
    forward 8080 -> 80
    provision shell, name: "first", inline: "true"
    provision shell, name: "every", inline: "true", run: always
    """

  /// A fixture whose machine is up, and its domain's name.
  static func upFixture(_ machinefile: String = machinefile) throws -> (Fixture, String) {
    let f = try Fixture(machinefile)
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let domain = f.project.domainName(for: "default")
    f.guest.onPoweroff = { f.hypervisor.domains[domain]?.status = .poweroff }
    f.guest.commands.removeAll()
    f.hypervisor.calls.removeAll()
    f.reporter.lines.removeAll()
    return (f, domain)
  }

  @Test func suspendSavesMemoryAndResumeContinuesWithoutBootOrProvisioning() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.suspend(machines)
    #expect(f.hypervisor.calls == ["save \(domain)"])
    #expect(try f.lifecycle.status(machines).first?.status == .saved)
    #expect(f.reporter.lines.last?.contains("`caravan resume` continues it") == true, "\(f.reporter.lines)")

    try f.lifecycle.suspend(machines)
    #expect(f.reporter.lines.last == "default: already suspended (its memory is saved)")
    #expect(f.hypervisor.calls == ["save \(domain)"], "a saved machine is not saved again")

    try f.lifecycle.resume(machines)
    #expect(f.hypervisor.calls.last == "start \(domain)")
    #expect(try f.lifecycle.status(machines).first?.status == .running)
    #expect(f.guest.commands.isEmpty, "no hostname, no provisioners: \(f.guest.commands)")
    #expect(f.reporter.lines.contains { $0.contains("SSH is up") })
  }

  @Test func resumeOfARunningMachineIsAQuietNoOp() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    try f.lifecycle.resume(f.project.spec.machines)
    #expect(f.hypervisor.calls.isEmpty)
    #expect(f.guest.commands.isEmpty)
    #expect(f.reporter.lines == ["default: already running"])
  }

  @Test func resumeOrSuspendOfAMachineThatIsNotCreatedOrOffSaysToRunUp() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let notCreated = try #require(throws: CaravanError.self) { try f.lifecycle.resume(machines) }
    #expect(notCreated.message == "cannot resume machine 'default': it is not created; run `caravan up`")
    let suspend = try #require(throws: CaravanError.self) { try f.lifecycle.suspend(machines) }
    #expect(suspend.message == "cannot suspend machine 'default': it is not created; run `caravan up`")

    try f.lifecycle.up(machines, provision: false)
    try f.lifecycle.halt(machines, force: true)
    let poweroff = try #require(throws: CaravanError.self) { try f.lifecycle.resume(machines) }
    #expect(poweroff.message == "cannot resume machine 'default': it is poweroff; run `caravan up`")
  }

  @Test func machineNamesAppearInTheFixOfAMultiMachineProject() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      machine "web" {}
      machine "db" {}
      """)
    defer { f.cleanUp() }
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.resume(try f.project.machines(named: ["db"]))
    }
    #expect(error.message == "cannot resume machine 'db': it is not created; run `caravan up db`")
  }

  @Test func upOfASavedMachineResumesIt() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.suspend(machines)
    try f.lifecycle.up(machines, provision: nil)
    #expect(f.hypervisor.calls == ["save \(domain)", "start \(domain)"], "no define, no import: \(f.hypervisor.calls)")
    #expect(f.guest.commands.isEmpty, "no hostname, no provisioners: \(f.guest.commands)")
    #expect(f.reporter.lines.contains("default: restoring its saved memory"))
  }

  @Test func pausedMachineIsUnpausedByResumeAndUp() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    f.hypervisor.domains[domain]?.status = .paused  // `virsh suspend`
    try f.lifecycle.resume(machines)
    #expect(f.hypervisor.calls == ["unpause \(domain)"])
    f.hypervisor.domains[domain]?.status = .paused
    try f.lifecycle.up(machines, provision: nil)
    #expect(f.hypervisor.calls == ["unpause \(domain)", "unpause \(domain)"])
    #expect(f.guest.commands.isEmpty)
    let status = try f.lifecycle.status(machines).first?.status
    #expect(status == .running)
  }

  /// `up --warm` killed while libvirt restores: the restore goes on and lets the guest
  /// run, so the next `up` finds it paused, then running when it unpauses. It goes on;
  /// a domain still paused after a failed unpause is an error.
  @Test func aPausedMachineThatRunsByItselfMeanwhileIsNotAnError() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    f.hypervisor.domains[domain]?.status = .paused
    f.hypervisor.runsBeforeUnpause = true
    try f.lifecycle.up(machines, provision: nil)
    #expect(f.hypervisor.calls == ["unpause \(domain)"])
    #expect(try f.lifecycle.status(machines).first?.status == .running)

    f.hypervisor.domains[domain]?.status = .paused
    f.hypervisor.runsBeforeUnpause = false
    f.hypervisor.failingUnpause = true
    #expect(throws: CaravanError.self) { try f.lifecycle.up(machines, provision: nil) }
  }

  @Test func haltOfASavedMachineDiscardsItsMemory() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    try f.lifecycle.suspend(machines)
    try f.lifecycle.halt(machines, force: false)
    #expect(f.hypervisor.calls == ["save \(domain)", "discard \(domain)"])
    #expect(f.reporter.lines.last == "default: powered off (its saved memory was discarded)")
    #expect(try f.lifecycle.status(machines).first?.status == .poweroff)
    try f.lifecycle.halt(machines, force: false)
    #expect(f.reporter.lines.last == "default: already powered off")
  }

  @Test func destroyOfASavedMachineRemovesItWithoutForcingPowerOff() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    try f.lifecycle.suspend(f.project.spec.machines)
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(f.hypervisor.calls == ["save \(domain)", "remove \(domain)"])
    #expect(f.hypervisor.domains.isEmpty)
  }

  @Test func reloadHaltsAndBootsOnTheSamePortsWithHostnameAndNoProvisioners() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let before = try #require(f.hypervisor.plans.last?.forwards)
    try f.lifecycle.reload(machines, provision: false)
    #expect(f.hypervisor.calls.contains("start \(domain)"))
    #expect(!f.hypervisor.calls.contains("forceOff \(domain)"), "halted through SSH: \(f.hypervisor.calls)")
    #expect(f.hypervisor.plans.last?.forwards == before)
    #expect(f.guest.commands.contains { $0.contains("hostname web.local") })
    #expect(!f.guest.commands.contains { $0.hasPrefix("provision") }, "\(f.guest.commands)")

    f.guest.commands.removeAll()
    try f.lifecycle.reload(machines, provision: true)
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
  }

  @Test func reloadOfAMachineThatIsNotCreatedSaysToRunUp() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.reload(f.project.spec.machines, provision: false)
    }
    #expect(error.message == "cannot reload machine 'default': it is not created; run `caravan up`")
    #expect(f.hypervisor.calls.isEmpty)
  }

  @Test func portListsSSHFirstThenEachForward() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machine = try #require(f.project.spec.machines.first)
    let forwards = try f.lifecycle.forwards(of: machine)
    #expect(forwards.map(\.guest) == [22, 80])
    let record = try #require(try f.project.loadRecord("default"))
    #expect(forwards.first?.host == record.sshPort)
    #expect(forwards == record.forwards)
  }

  @Test func portOfAMachineThatIsNotCreatedOrSavedSaysTheFix() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let machine = try #require(f.project.spec.machines.first)
    let notCreated = try #require(throws: CaravanError.self) { try f.lifecycle.forwards(of: machine) }
    #expect(notCreated.message == "cannot show the ports of machine 'default': it is not created; run `caravan up`")
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    try f.lifecycle.suspend(f.project.spec.machines)
    let saved = try #require(throws: CaravanError.self) { try f.lifecycle.forwards(of: machine) }
    #expect(saved.message == "cannot show the ports of machine 'default': it is saved; resume it with `caravan resume`")
  }

  @Test func suspendResumeReloadAndSnapshotsAreEvents() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let path = f.root + "/events.jsonl"
    f.lifecycle.events = try EventLog(path: path, project: f.project.root)
    try f.lifecycle.suspend(machines)
    try f.lifecycle.resume(machines)
    try f.lifecycle.saveSnapshot(machines, name: "s1")
    try f.lifecycle.restoreSnapshot(machines, name: "s1")
    try f.lifecycle.reload(machines, provision: false)
    let events = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    let ends = events.filter { $0["phase"] as? String == "end" }.map {
      "\($0["step"] ?? "") \($0["detail"] as? String ?? "")".trimmingCharacters(in: .whitespaces)
    }
    for step in ["suspend", "resume", "snapshot save s1", "snapshot restore s1", "halt", "up", "reload"] {
      #expect(ends.contains(step), "\(step) in \(ends)")
    }
  }

  @Test func recordedForwardsReadBack() {
    let forward = ResolvedForward(transport: .udp, hostIP: "0.0.0.0", host: 5353, guest: 53)
    #expect(ResolvedForward(parsing: forward.description) == forward)
    #expect(ResolvedForward(parsing: "tcp ::1:2222 -> 22")?.hostIP == "::1")
    #expect(ResolvedForward(parsing: "nonsense") == nil)
  }
}
