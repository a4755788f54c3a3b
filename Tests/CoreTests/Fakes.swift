import Boxes
import Foundation
import Host
import Machinefile
import Spec
import Support

@testable import Core

/// A value the fakes share between the threads of a parallel `up`: every read and
/// every in-place change (`domains[name]?.status = …`) holds its lock.
@propertyWrapper struct Guarded<Value: Sendable>: Sendable {
  // @unchecked: `value` is only touched under `lock` (a `Mutex` cannot hold its lock across `_modify`'s yield).
  final class Box: @unchecked Sendable {
    let lock = NSRecursiveLock()
    var value: Value
    init(_ value: Value) { self.value = value }
  }
  let box: Box
  init(wrappedValue: Value) { box = Box(wrappedValue) }
  var wrappedValue: Value {
    get {
      box.lock.lock()
      defer { box.lock.unlock() }
      return box.value
    }
    nonmutating set {
      box.lock.lock()
      defer { box.lock.unlock() }
      box.value = newValue
    }
    nonmutating _modify {
      box.lock.lock()
      defer { box.lock.unlock() }
      yield &box.value
    }
  }
}

/// A hypervisor in memory with only what every machine needs (no saved states,
/// networks or warm states): domains with a state, and a log of calls.
/// `FakeHypervisor` (FakeHypervisor.swift) adds the other capabilities.
class FakeMachines: Hypervisor, @unchecked Sendable {
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  @Guarded var uri = "fake:///"
  @Guarded var support = SettingSupport(settings: ["libvirt", "libvirt.accel"])
  @Guarded var domains: [String: (uuid: String, status: MachineStatus)] = [:]
  @Guarded var calls: [String] = []
  /// When false, ACPI shutdown requests are ignored (as a Debian guest under TCG does).
  @Guarded var honoursACPI = true
  @Guarded var plans: [MachinePlan] = []

  func status(domain: String) throws -> MachineStatus { domains[domain]?.status ?? .notCreated }
  func uuid(domain: String) throws -> String? { domains[domain]?.uuid }
  func chooseAccelerator(_ requested: LibvirtSettings.Accel) throws -> AcceleratorChoice {
    AcceleratorChoice(accelerator, reason: "fake")
  }
  @Guarded var resources = HostResources(cpus: 2, availableMemoryMiB: 8192)
  @Guarded var accelerator = Accelerator.tcg
  func hostResources() throws -> HostResources { resources }
  func importBox(_ box: InstalledBox, pool: String?, progress: (String) -> Void) throws {
    calls.append("import \(box.name)")
  }
  /// Called as `define` runs (an interrupt test comes in there).
  @Guarded var onDefine: @Sendable () -> Void = {}
  func define(_ plan: MachinePlan, progress: (String) -> Void) throws -> String {
    calls.append("define \(plan.domainName)")
    onDefine()
    plans.append(plan)
    let uuid = domains[plan.domainName]?.uuid ?? UUID().uuidString.lowercased()
    domains[plan.domainName] = (uuid, domains[plan.domainName]?.status ?? .poweroff)
    // The kept disk is the domain's again (`define` makes a disk only when there is none).
    if keptDisks.remove(plan.domainName) != nil { calls.append("reuse disk \(plan.domainName)") }
    return uuid
  }
  /// Host ports some other program holds (on a remote libvirt's host): a start whose
  /// forwards use one fails as QEMU's does.
  @Guarded var heldPorts: Set<Int> = []
  /// The SSH port of the first start is taken by another program between `up`'s
  /// probe and QEMU's bind, whichever port the probe chose (the host's own guests
  /// may hold the usual ones): that port, once taken.
  @Guarded var takesFirstChosenPort = false
  @Guarded var takenPort: Int? = nil
  func start(domain: String) throws {
    calls.append("start \(domain)")
    if takesFirstChosenPort, takenPort == nil, let plan = plans.last(where: { $0.domainName == domain }),
      let ssh = plan.forwards.first
    {
      takenPort = ssh.host
      heldPorts.insert(ssh.host)
    }
    try bindForwards(domain, "start domain '\(domain)'")
    domains[domain]?.status = .running
  }
  /// libvirt's error does not quote QEMU's words (they reached the log too late on a
  /// busy host): it says only that the monitor refused, and `startLog` has them.
  @Guarded var logLate = false
  /// What `startLog` says: QEMU's last start's error lines, by domain.
  @Guarded var startLogs: [String: String] = [:]
  /// Fails as QEMU does when a forward of the domain's last plan uses a held port.
  func bindForwards(_ domain: String, _ what: String) throws {
    startLogs[domain] = nil
    if let plan = plans.last(where: { $0.domainName == domain }),
      let held = plan.forwards.first(where: { heldPorts.contains($0.host) })
    {
      let rule = "\(held.transport.rawValue):\(held.hostIP):\(held.host)-:\(held.guest)"
      let qemu =
        "qemu-system-x86_64: -netdev user,id=caravan0,hostfwd=\(rule): Could not set up host forwarding rule '\(rule)'"
      startLogs[domain] = qemu
      throw CaravanError(
        .hypervisor,
        logLate
          ? "libvirt could not \(what): failed to connect to monitor socket: Connection refused"
          : "libvirt could not \(what): internal error: process exited while connecting to monitor: \(qemu)")
    }
  }
  func requestShutdown(domain: String) throws {
    calls.append("shutdown \(domain)")
    if honoursACPI { domains[domain]?.status = .poweroff }
  }
  func forceOff(domain: String) throws {
    calls.append("forceOff \(domain)")
    if domains[domain] != nil { domains[domain]?.status = .poweroff }
  }
  func remove(domain: String, keepLogs: Bool, keepVolumes: Set<String>) throws -> [String] {
    calls.append("remove \(domain)")
    defer { keptDisks.remove(domain) }
    domains[domain] = nil
    progress[domain] = nil
    return keepVolumes.sorted().map { "/fake/pool/\(domain)-volume-\($0).qcow2" }
  }
  func undefine(domain: String) throws {
    calls.append("undefine \(domain)")
    if domains[domain] != nil && !missingDisks.contains(domain) { keptDisks.insert(domain) }
    domains[domain] = nil
    progress[domain] = nil
  }
  /// Disks in the pool without their domain (`virsh undefine` keeps the storage).
  @Guarded var keptDisks: Set<String> = []
  /// What `recordProgress` kept, by domain.
  @Guarded var progress: [String: MachineProgress] = [:]
  func facts(domain: String) throws -> DomainFacts? {
    guard let known = domains[domain], let plan = plans.last(where: { $0.domainName == domain }) else { return nil }
    return DomainFacts(
      uuid: known.uuid, projectRoot: plan.projectRoot, machineName: plan.machineName, boxName: plan.box.name,
      boxVersion: plan.box.version, forwards: plan.forwards, accelerator: plan.accelerator,
      progress: progress[domain])
  }
  /// Domains whose disk was deleted by hand.
  @Guarded var missingDisks: Set<String> = []
  func diskExists(domain: String) throws -> Bool {
    (domains[domain] != nil && !missingDisks.contains(domain)) || keptDisks.contains(domain)
  }
  func recordProgress(_ progress: MachineProgress, domain: String) throws {
    self.progress[domain] = progress
  }
  func domains(ofProject projectRoot: String) throws -> [String] { Array(domains.keys) }
  func consoleLogPath(domain: String) -> String { "/log/\(domain)-console.log" }
  func startLog(domain: String) -> String? { startLogs[domain] }
  func machinesUsing(box: InstalledBox) throws -> [String] { [] }
  func removeBoxVolume(_ box: InstalledBox) throws -> Bool { false }

  /// Domains made outside `define` (another project's), by name: project folder and machine.
  @Guarded var foreignDomains: [String: (project: String, machine: String)] = [:]
  func caravanDomains() throws -> [CaravanDomain] {
    domains.keys.sorted().compactMap { name in
      guard let status = domains[name]?.status else { return nil }
      if let plan = plans.last(where: { $0.domainName == name }) {
        return CaravanDomain(domain: name, projectRoot: plan.projectRoot, machine: plan.machineName, status: status)
      }
      guard let foreign = foreignDomains[name] else { return nil }
      return CaravanDomain(domain: name, projectRoot: foreign.project, machine: foreign.machine, status: status)
    }
  }
}

/// A guest that answers every command with exit 0, and records them.
final class FakeGuest: Communicator, @unchecked Sendable {
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  @Guarded var commands: [String] = []
  @Guarded var uploads: [String: Data] = [:]
  @Guarded var ready = true
  /// Called for `sudo … poweroff`; the fake hypervisor's domain goes off when true.
  @Guarded var onPoweroff: @Sendable () -> Void = {}

  /// How long each SSH probe takes, and the most probes that were under way at once.
  @Guarded var probeSeconds = 0.0
  @Guarded var probing = 0
  @Guarded var mostProbingAtOnce = 0

  func probe() -> (ready: Bool, detail: String) {
    guard probeSeconds > 0 else { return (ready, ready ? "" : "Connection refused") }
    probing += 1
    mostProbingAtOnce = max(mostProbingAtOnce, probing)
    Thread.sleep(forTimeInterval: probeSeconds)
    probing -= 1
    return (ready, ready ? "" : "Connection refused")
  }
  /// Commands containing a key exit with its status instead of 0.
  @Guarded var statuses: [String: Int32] = [:]

  func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    commands.append(command)
    if command.contains("poweroff") { onPoweroff() }
    if let status = statuses.first(where: { command.contains($0.key) })?.value {
      output(.stdout, "status: error")
      return status
    }
    output(.stdout, "ran")
    return 0
  }
  /// What each command that had input was given, in order.
  @Guarded var inputs: [String] = []
  func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    if let input { inputs.append(String(decoding: input, as: UTF8.self)) }
    return try execute(command, output: output)
  }
  func upload(_ data: Data, to remotePath: String) throws { uploads[remotePath] = data }
  func upload(file: String, to remotePath: String) throws { uploads[remotePath] = Data() }
  func replaceKey(withPrivateKeyAt path: String) throws { commands.append("replaceKey \(path)") }
  func close() {}
}

struct FakeFactory: CommunicatorFactory {
  let guest: FakeGuest
  func communicator(for endpoint: SSHEndpoint) -> Communicator { guest }
  func insecureKeyFiles() throws -> [String] { ["/keys/insecure"] }
  func insecurePublicKey() -> String { "ssh-ed25519 AAAAinsecure vagrant insecure public key" }
  func generateKey(at path: String, comment: String) throws {
    try FileSystem.writeAtomically(Data("key".utf8), to: path)
    try FileSystem.writeAtomically(Data("ssh-ed25519 AAAA".utf8), to: path + ".pub")
  }
  func generateHostKey(type: String, at path: String) throws {
    try FileSystem.writeAtomically(Data("\(type) host key".utf8), to: path)
    try FileSystem.writeAtomically(Data("ssh-\(type) AAAA".utf8), to: path + ".pub")
  }
}

struct RecordingProvisioner: ProvisionerRunner {
  let guest: FakeGuest
  var support: SettingSupport { SettingSupport(provisionerTypes: ["shell"]) }
  func run(
    _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String, running: RunningMachines,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    guest.commands.append("provision \(provisioner.name)")
    if provisioner.name.hasPrefix("broken") {
      throw CaravanError(.guest, "provisioner '\(provisioner.name)' (shell) exited with status 3")
    }
  }
  func runTrigger(
    _ trigger: TriggerSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator?,
    reporter: Reporter
  ) throws {
    guest.commands.append(
      "trigger \(trigger.when.rawValue) \(trigger.run ?? trigger.runRemote ?? "")\(communicator == nil ? " (not running)" : "")"
    )
    if trigger.run == "false" { throw CaravanError(.guest, "trigger failed") }
  }
}

final class CollectingReporter: Reporter, @unchecked Sendable {
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  @Guarded var lines: [String] = []
  func step(_ machine: String, _ message: String) { lines.append("\(machine): \(message)") }
  func detail(_ machine: String, _ line: String) { lines.append("\(machine):   \(line)") }
  func progress(_ machine: String, _ message: String) {}
  func warning(_ message: String) { lines.append("warning: \(message)") }
}

/// A project in a temporary folder with one installed fake box.
struct Fixture {
  let root: String
  let hypervisor = FakeHypervisor()
  let guest = FakeGuest()
  let reporter = CollectingReporter()
  let lifecycle: Lifecycle
  let project: Project

  init(_ machinefile: String, installBox: Bool = true, syncer: FolderSyncer? = nil) throws {
    root = NSTemporaryDirectory() + "caravan-core-\(UUID().uuidString)"
    let boxes = BoxStore(root: root + "/home/boxes")
    if installBox {
      let dir = boxes.directory(name: "caravan/debian-12", version: "0")
      try FileSystem.writeAtomically(
        Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":4}"#.utf8), to: dir + "/metadata.json")
    }
    let spec = try Machinefile.load(source: machinefile, fileName: "Machinefile", environment: [:])
    project = Project(root: root + "/project", machinefilePath: root + "/project/Machinefile", spec: spec)
    lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor, communicators: FakeFactory(guest: guest),
      provisioners: RecordingProvisioner(guest: guest), syncer: syncer, boxes: boxes, reporter: reporter,
      environment: ["CARAVAN_HOME": root + "/home"])
    // A healthy host for `up`'s checks, whatever this machine has.
    lifecycle.host = FakeHost()
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: root) }
}
