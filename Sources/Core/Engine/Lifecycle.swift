import Boxes
import Foundation
import Host
import Spec
import Support
import Synchronization

/// The engine: moves a project's machines through their lifecycle, asking
/// libvirt (through `Hypervisor`) what is true, and keeping `.caravan/` in step.
/// `Sendable`: the workers of a parallel `up` share it, and every part of it may be shared.
public final class Lifecycle: Sendable {
  public let project: Project
  public let hypervisor: Hypervisor
  public let communicators: CommunicatorFactory
  public let provisioners: ProvisionerRunner
  /// Synced folders; nil: `sync` is not acted on.
  public let syncer: FolderSyncer?
  public let boxes: BoxStore
  public let reporter: Reporter
  public let environment: [String: String]
  /// Where each step is also written as a JSON line (`--events`, `CARAVAN_EVENTS`).
  public var events: EventLog? {
    get { settings.withLock { $0.events } }
    set { settings.withLock { $0.events = newValue } }
  }
  /// This host's files, programs and users, for `up`'s cheap checks (tests give their own).
  public var host: HostFacts {
    get { settings.withLock { $0.host } }
    set { settings.withLock { $0.host = newValue } }
  }
  /// Whether an SSH server answers on 127.0.0.1:PORT (a warm-state guest's); tests give their own.
  public var sshAnswers: @Sendable (Int) -> Bool {
    get { settings.withLock { $0.sshAnswers } }
    set { settings.withLock { $0.sshAnswers = newValue } }
  }
  /// Ctrl-C and SIGTERM: each step checks it before it starts (tests give their own).
  public var interrupt: Interrupt {
    get { settings.withLock { $0.interrupt } }
    set { settings.withLock { $0.interrupt = newValue } }
  }
  /// What may be set after `init` (by a command or a test, before the engine runs).
  private struct Settings {
    var events: EventLog?
    var host: HostFacts
    var sshAnswers: @Sendable (Int) -> Bool = { SSHBanner.answers(host: "127.0.0.1", port: $0, timeout: 2) }
    var interrupt: Interrupt = .process
  }
  private let settings: Mutex<Settings>
  /// The step each machine was in when an interrupt stopped it (the innermost), for `stoppable`.
  let stoppedSteps = Mutex<[String: StoppedStep]>([:])

  public init(
    project: Project, hypervisor: Hypervisor, communicators: CommunicatorFactory,
    provisioners: ProvisionerRunner, syncer: FolderSyncer? = nil, boxes: BoxStore, reporter: Reporter,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.project = project
    self.hypervisor = hypervisor
    self.communicators = communicators
    self.provisioners = provisioners
    self.syncer = syncer
    self.boxes = boxes
    self.reporter = reporter
    self.environment = environment
    settings = Mutex(Settings(host: LocalHost(environment: environment)))
  }

  /// Runs one lifecycle step of `machine`, writing its start and end (with the
  /// duration and outcome) to the events file, if any. Before it starts is a safe
  /// point: an interrupt stops the command there (never between a step and what
  /// records it, which follows the step, before the next one starts).
  @discardableResult
  func track<T>(_ machine: String, _ step: Step, detail: String? = nil, _ body: () throws -> T) throws -> T {
    try interrupt.check()
    faultPoint(step, .start)
    events?.record(machine: machine, step: step, phase: .start, detail: detail)
    let started = Date()
    do {
      let result = try body()
      events?.record(
        machine: machine, step: step, phase: .end, duration: Date().timeIntervalSince(started), outcome: "ok",
        detail: detail)
      faultPoint(step, .end)
      return result
    } catch {
      let interrupted = interrupt.requested
      events?.record(
        machine: machine, step: step, phase: .end, duration: Date().timeIntervalSince(started),
        outcome: interrupted ? "interrupted" : "error", detail: "\(error)")
      if interrupted {
        stoppedSteps.withLock { steps in
          if steps[machine] == nil { steps[machine] = StoppedStep(step: step, detail: detail) }
        }
      }
      throw error
    }
  }

  /// Fault injection for the tests: `CARAVAN_FAULT_INJECT=STEP:start|end`
  /// (`define:end` is "after define, before the record") makes this process
  /// SIGKILL itself there, exactly as `kill -9` would.
  func faultPoint(_ step: Step, _ phase: EventLog.Phase) {
    guard let point = environment["CARAVAN_FAULT_INJECT"], point == "\(step):\(phase.rawValue)" else { return }
    kill(getpid(), SIGKILL)
  }

  /// What `up` acts on with this hypervisor and provisioner runner.
  public var support: SettingSupport {
    SettingSupport.engine.union(hypervisor.support).union(provisioners.support)
      .union(syncer?.support ?? SettingSupport())
  }

  // MARK: Status

  public struct MachineReport: Sendable {
    public var name: String
    public var status: MachineStatus
    public var domain: String
    public var record: MachineRecord?
  }

  /// Live state of each machine, from libvirt; the state file only adds detail.
  public func status(_ machines: [MachineSpec]) throws -> [MachineReport] {
    try machines.map { machine in
      let domain = project.domainName(for: machine.name)
      let status = try hypervisor.status(domain: domain)
      let record = status == .notCreated ? nil : try? project.loadRecord(machine.name)
      return MachineReport(name: machine.name, status: status, domain: domain, record: record)
    }
  }

  // MARK: Reconcile

  /// The machine as libvirt has it. `.caravan/` is a cache, checked first:
  /// a record made on another libvirt URI is refused (and kept); a record
  /// whose domain is gone is forgotten (its key kept); a domain without a
  /// record that carries this machine's Caravan metadata is adopted.
  func reconcile(_ machine: MachineSpec) throws -> MachineState {
    let domain = project.domainName(for: machine.name)
    let record = try project.loadRecord(machine.name)
    if let record, record.libvirtURI != hypervisor.uri {
      throw CaravanError(
        .conflict,
        "machine '\(machine.name)' was made on libvirt '\(record.libvirtURI)', but this command uses '\(hypervisor.uri)'",
        hint:
          "Use the same connection (CARAVAN_LIBVIRT_URI=\(record.libvirtURI), or run caravan as the same user: root uses qemu:///system, others qemu:///session). Its state in \(project.stateDirectory) is kept."
      )
    }
    let status = try hypervisor.status(domain: domain)
    if status == .notCreated {
      if let record {
        if try hypervisor.diskExists(domain: domain) {
          // `virsh undefine` keeps the disk: what was done on it stays known (an older
          // Caravan's record becomes the disk's mark), and `up` uses the disk again.
          if loadMark(machine.name) == nil { try saveMark(record, for: machine.name) }
          reporter.step(
            machine.name,
            "its domain '\(domain)' is gone from libvirt, its disk is not; `caravan up\(argument(for: machine))` reuses it, `caravan destroy` removes it"
          )
        } else {
          reporter.step(
            machine.name, "its domain '\(domain)' is gone from libvirt; clearing the stale state in .caravan/")
        }
        try project.forgetRecord(machine.name)
      }
      return .notCreated
    }
    guard let record else { return try adopt(machine, status: status) }
    let uuid = try hypervisor.uuid(domain: domain)
    if uuid != record.domainUUID {
      reporter.warning(
        "machine '\(machine.name)': libvirt's domain '\(domain)' is not the one Caravan made (UUID \(uuid ?? "?") instead of \(record.domainUUID))"
      )
      return try adopt(machine, status: status)
    }
    return .tracked(status, record)
  }

  /// A domain of this machine without a (matching) record: when its Caravan
  /// metadata names this project and machine, its record is rebuilt from
  /// libvirt (forwards, box, how far its first `up` got) and its key restored.
  func adopt(_ machine: MachineSpec, status: MachineStatus) throws -> MachineState {
    let domain = project.domainName(for: machine.name)
    guard let facts = try hypervisor.facts(domain: domain), facts.projectRoot == project.root,
      facts.machineName == machine.name, let ssh = facts.forwards.first
    else { return .untracked(status) }
    var record = MachineRecord(
      domainName: domain, domainUUID: facts.uuid, libvirtURI: hypervisor.uri, boxName: facts.boxName,
      boxVersion: facts.boxVersion, sshPort: ssh.host, forwards: facts.forwards,
      accelerator: facts.accelerator)
    // Without progress in the domain, nothing is assumed done: the next `up`
    // finishes the key, hostname and provisioners.
    let progress = facts.progress ?? MachineProgress(keyReplaced: false, provisioned: [], firstUp: .unfinished)
    record.keyReplaced = progress.keyReplaced
    record.provisioned = progress.provisioned
    record.firstUp = progress.firstUp
    // A warm start cut short before any progress was kept: the snapshot it starts from is still there.
    if progress.firstUp == .unfinished,
      (try? savedStates.snapshots(domain: domain))?.contains(where: { $0.name == WarmState.snapshotName }) == true
    {
      record.firstUp = .identityPending
    }
    try restoreMachineKey(machine.name)
    try project.saveRecord(record, for: machine.name)
    try saveMark(record, for: machine.name)
    reporter.step(machine.name, "found its domain '\(domain)' in libvirt without state in .caravan/; adopted it")
    return .tracked(status, record)
  }

  /// Saves the record, its copy beside the key copy (the disk's mark, which outlives
  /// the domain and `.caravan/`), and how far the machine got in its domain too.
  func saveProgress(_ record: MachineRecord, for name: String) throws {
    try project.saveRecord(record, for: name)
    try saveMark(record, for: name)
    do {
      try hypervisor.recordProgress(record.progress, domain: record.domainName)
    } catch {
      reporter.warning("machine '\(name)': could not keep its progress in libvirt: \(error)")
    }
  }

  /// The SSH endpoint of a running machine, for `caravan ssh` and the provisioners.
  public func endpoint(for machine: MachineSpec, record: MachineRecord, shared: Bool) throws -> SSHEndpoint {
    var keys: [String]
    if let configured = machine.ssh.privateKey {
      keys = [FileSystem.resolve(configured, relativeTo: project.root)]
    } else {
      // The machine's own key first, then the box's insecure keys: a first `up`
      // killed or powered off during the key replacement can leave the guest
      // with either, so the user is never locked out (the guest refuses the
      // insecure keys once the replacement is complete).
      try restoreMachineKey(machine.name)
      let own = project.keyPath(machine.name)
      keys = (FileSystem.exists(own) ? [own] : []) + (try communicators.insecureKeyFiles())
    }
    if keys.isEmpty { keys = [project.keyPath(machine.name)] }
    let control =
      try shared ? CaravanPaths.runtime(environment: environment) + "/\(project.id)-\(machine.name.prefix(40))" : nil
    return SSHEndpoint(
      port: record.sshPort, user: machine.ssh.user, identityFiles: keys,
      extraArgs: machine.ssh.extraArgs, forwardAgent: machine.ssh.forwardAgent, controlPath: control,
      jump: try LibvirtURI.jump(for: hypervisor.uri))
  }

  /// The record of a machine that must be running, or a clear error naming
  /// `action` ("ssh into", "provision") and the fix.
  public func runningRecord(_ machine: MachineSpec, for action: String) throws -> MachineRecord {
    let state = try reconcile(machine)
    let errors = stateErrors(machine, action: action)
    switch state {
    case .tracked(.running, let record): return record
    case .untracked(.running):
      throw errors.untracked(domain: project.domainName(for: machine.name), stateDirectory: project.stateDirectory)
    default: throw errors.notRunning(state.status)
    }
  }

  func stateErrors(_ machine: MachineSpec, action: String) -> MachineStateError {
    MachineStateError(machine: machine.name, argument: argument(for: machine), action: action)
  }

  /// Ends the machine's shared SSH connection (ControlMaster), if one is open:
  /// before the guest is stopped, saved or put back to a snapshot, whose TCP
  /// state would leave it hanging.
  func closeSharedConnection(_ machine: MachineSpec, record: MachineRecord) {
    guard let control = try? endpoint(for: machine, record: record, shared: true) else { return }
    communicators.communicator(for: control).close()
  }

  /// The project's machines on this engine's libvirt host; all of them when none names
  /// it (a project on one host, however its URI is written).
  var machinesOnThisHost: [MachineSpec] {
    let here = project.spec.machines.filter { $0.libvirtURI(environment: environment) == hypervisor.uri }
    return here.isEmpty ? project.spec.machines : here
  }

  /// How the user names the machine after a command: "" for a project's only machine.
  func argument(for machine: MachineSpec) -> String {
    project.spec.machines.count > 1 ? " " + machine.name : ""
  }
}
