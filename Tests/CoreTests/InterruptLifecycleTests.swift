import Boxes
import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// Ctrl-C in the engine: a command stops at its next safe point (before a step, never
/// between a step and its record), keeps what a first `up` made, and says what each
/// machine was left as with the commands that go on from there. Each test interrupts
/// an `Interrupt` of its own.
struct InterruptLifecycleTests {
  static let machinefile = """
    box "caravan/debian-12"
    provision shell, name: "first", inline: "true"
    provision shell, name: "slow", inline: "sleep 100"
    provision shell, name: "last", inline: "true"
    """

  /// The engine of `f` with its own interrupt and provisioner runner.
  static func engine(_ f: Fixture, _ interrupt: Interrupt, provisioners: ProvisionerRunner? = nil) -> Lifecycle {
    let lifecycle = Lifecycle(
      project: f.project, hypervisor: f.hypervisor, communicators: FakeFactory(guest: f.guest),
      provisioners: provisioners ?? RecordingProvisioner(guest: f.guest), boxes: BoxStore(root: f.root + "/home/boxes"),
      reporter: f.reporter, environment: ["CARAVAN_HOME": f.root + "/home"])
    lifecycle.host = FakeHost()
    lifecycle.interrupt = interrupt
    return lifecycle
  }

  static func up(_ lifecycle: Lifecycle) throws {
    let machines = lifecycle.project.spec.machines
    try lifecycle.stoppable("up", machines) { try lifecycle.up(machines, provision: nil) }
  }

  @Test func upStoppedWhileWaitingForSSHKeepsTheMachineAndTheNextUpFinishesIt() throws {
    let f = try Fixture(InterruptLifecycleTests.machinefile)
    defer { f.cleanUp() }
    let interrupt = Interrupt()
    let lifecycle = InterruptLifecycleTests.engine(f, interrupt)
    f.guest.ready = false
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { interrupt.request() }
    let started = Date()
    let error = try #require(throws: CaravanError.self) { try InterruptLifecycleTests.up(lifecycle) }
    #expect(Date().timeIntervalSince(started) < 3, "the SSH wait noticed the interrupt at once")
    let record = try #require(try f.project.loadRecord("default"))
    #expect(error.kind == .interrupted)
    #expect(
      error.message
        == "interrupted: machine 'default' is running but not provisioned yet, and it still accepts the box's insecure key (anyone on this host can log in through 127.0.0.1:\(record.sshPort)): `caravan up` finishes it, `caravan destroy -f` removes it"
    )
    // Kept, not removed as a failed first `up` would be.
    let domain = f.project.domainName(for: "default")
    #expect(f.hypervisor.domains[domain]?.status == .running)
    #expect(!f.hypervisor.calls.contains("remove \(domain)"))
    #expect(record.firstUp != .finished && !record.keyReplaced && record.provisioned.isEmpty)

    f.guest.ready = true
    try InterruptLifecycleTests.up(InterruptLifecycleTests.engine(f, Interrupt()))
    let finished = try #require(try f.project.loadRecord("default"))
    #expect(finished.firstUp == .finished && finished.keyReplaced)
    #expect(finished.provisioned == ["first", "slow", "last"])
  }

  /// A provisioner stopped half way is not recorded; the next `up` runs it and what follows,
  /// not what ran before it. `provision` stopped the same way names the one to run again.
  @Test func aStoppedProvisionerIsNotRecordedAndRunsAgain() throws {
    let f = try Fixture(InterruptLifecycleTests.machinefile)
    defer { f.cleanUp() }
    let interrupt = Interrupt()
    let stopping = StoppingProvisioner(guest: f.guest, interrupt: interrupt, stopAt: "slow")
    let error = try #require(throws: CaravanError.self) {
      try InterruptLifecycleTests.up(InterruptLifecycleTests.engine(f, interrupt, provisioners: stopping))
    }
    #expect(
      error.message
        == "interrupted: machine 'default' is running but not fully provisioned yet (done: 'first'): `caravan up` finishes it, `caravan destroy -f` removes it"
    )
    #expect(try f.project.loadRecord("default")?.provisioned == ["first"])
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first"])

    f.guest.commands.removeAll()
    try InterruptLifecycleTests.up(InterruptLifecycleTests.engine(f, Interrupt()))
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision slow", "provision last"])

    let again = Interrupt()
    let engine = InterruptLifecycleTests.engine(
      f, again, provisioners: StoppingProvisioner(guest: f.guest, interrupt: again, stopAt: "slow"))
    let machines = f.project.spec.machines
    let stopped = try #require(throws: CaravanError.self) {
      try engine.stoppable("provision", machines) { try engine.provision(machines, only: []) }
    }
    #expect(
      stopped.message
        == "interrupted: machine 'default' is running; its provisioner 'slow' was stopped and is not recorded as run: `caravan provision --provision-with slow` runs it again"
    )
  }

  /// An interrupt while the domain is defined stops the command after its record is
  /// saved (the next safe point), not between the two: the next `up` starts it.
  @Test func anInterruptDuringDefineStopsAfterTheRecord() throws {
    let f = try Fixture(InterruptLifecycleTests.machinefile)
    defer { f.cleanUp() }
    let interrupt = Interrupt()
    f.hypervisor.onDefine = { interrupt.request() }
    let error = try #require(throws: CaravanError.self) {
      try InterruptLifecycleTests.up(InterruptLifecycleTests.engine(f, interrupt))
    }
    let domain = f.project.domainName(for: "default")
    let record = try #require(try f.project.loadRecord("default"), "the record of the defined domain is saved")
    #expect(record.domainUUID == f.hypervisor.domains[domain]?.uuid)
    #expect(!f.hypervisor.calls.contains("start \(domain)"))
    #expect(error.message.hasPrefix("interrupted: machine 'default' is created but not started yet, and it still"))

    f.hypervisor.onDefine = {}
    try InterruptLifecycleTests.up(InterruptLifecycleTests.engine(f, Interrupt()))
    #expect(f.hypervisor.domains[domain]?.status == .running)
    #expect(try f.project.loadRecord("default")?.firstUp == .finished)
  }

  /// Several machines, one at a time: the one booting is kept, the next is not started.
  @Test func eachMachineIsNamedWithWhatItWasLeftAs() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      machine "web" { ssh { private_key "/keys/own" } }
      machine "db" {}
      """)
    defer { f.cleanUp() }
    let interrupt = Interrupt()
    f.guest.ready = false
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { interrupt.request() }
    let lifecycle = InterruptLifecycleTests.engine(f, interrupt)
    let machines = f.project.spec.machines
    let error = try #require(throws: CaravanError.self) {
      try lifecycle.stoppable("up", machines) { try lifecycle.up(machines, options: UpOptions(parallel: 1)) }
    }
    #expect(
      error.message == """
        interrupted:
          machine 'web' is running but not provisioned yet: `caravan up web` finishes it, `caravan destroy -f web` removes it
          machine 'db' is not created: `caravan up db` makes it
        """)
    #expect(!f.hypervisor.calls.contains { $0.contains("-db-") })
  }

  /// A command that finished before it saw the interrupt still stops with it.
  @Test func anInterruptAfterTheLastStepIsStillReported() throws {
    let f = try Fixture(InterruptLifecycleTests.machinefile)
    defer { f.cleanUp() }
    let interrupt = Interrupt()
    let lifecycle = InterruptLifecycleTests.engine(f, interrupt)
    try InterruptLifecycleTests.up(lifecycle)
    let error = try #require(throws: CaravanError.self) {
      try lifecycle.stoppable("up", f.project.spec.machines) { interrupt.request() }
    }
    #expect(error.kind == .interrupted)
    #expect(error.message == "interrupted: machine 'default' is running")
  }

  @Test func whatWasLeftSaysHowToGoOn() {
    var record = MachineRecord(
      domainName: "d", domainUUID: "u", libvirtURI: "fake:///", boxName: "b", boxVersion: "0", sshPort: 2200,
      forwards: [], accelerator: .tcg)
    func text(
      _ command: String, _ status: MachineStatus, _ record: MachineRecord?, stopped: StoppedStep? = nil,
      argument: String = " web"
    ) -> String {
      LeftBehind(
        command: command, machine: "web", argument: argument, status: status, record: record, stopped: stopped,
        acceptsInsecureKey: true
      ).text
    }
    #expect(text("destroy", .notCreated, nil) == "machine 'web' is removed")
    #expect(text("up", .notCreated, nil) == "machine 'web' is not created: `caravan up web` makes it")
    #expect(
      text("up", .running, nil)
        == "machine 'web' is running, but .caravan/ has no state for it: `caravan destroy -f web` removes it")
    #expect(
      text("up", .running, record)
        == "machine 'web' is running but not provisioned yet, and it still accepts the box's insecure key (anyone on this host can log in through 127.0.0.1:2200): `caravan up web` finishes it, `caravan destroy -f web` removes it"
    )
    record.keyReplaced = true
    record.firstUp = .identityPending
    #expect(
      text("up", .running, record)
        == "machine 'web' is running from its box's warm state but has no identity of its own yet: `caravan up web` finishes it, `caravan destroy -f web` removes it"
    )
    record.firstUp = .finished
    #expect(text("halt", .running, record) == "machine 'web' is still running: `caravan halt web` stops it")
    #expect(text("halt", .poweroff, record) == "machine 'web' is poweroff")
    #expect(
      text("destroy", .poweroff, record)
        == "machine 'web' is poweroff and not removed: `caravan destroy -f web` removes it")
    #expect(
      text("reload", .poweroff, record, stopped: StoppedStep(step: .start))
        == "machine 'web' is powered off (stopped during its 'start' step): `caravan up web` starts it")
    #expect(
      text("rsync", .running, record, stopped: StoppedStep(step: .sync, detail: "src"))
        == "machine 'web' is running; its synced folders were not all copied: `caravan rsync web` copies them again")
    #expect(
      text("resume", .saved, record) == "machine 'web' is suspended: `caravan resume web` continues it")
  }
}

/// Runs provisioners as `RecordingProvisioner` does, except `stopAt`: there an interrupt
/// comes and its run is stopped, as `Subprocess` stops the ssh of a real one.
struct StoppingProvisioner: ProvisionerRunner {
  let guest: FakeGuest
  let interrupt: Interrupt
  let stopAt: String
  var support: SettingSupport { SettingSupport(provisionerTypes: ["shell"]) }

  func run(
    _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String, running: RunningMachines,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    if provisioner.name == stopAt {
      interrupt.request()
      throw Interrupt.stopped("interrupted: 'ssh' was stopped")
    }
    guest.commands.append("provision \(provisioner.name)")
  }

  func runTrigger(
    _ trigger: TriggerSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator?,
    reporter: Reporter
  ) throws {}
}
