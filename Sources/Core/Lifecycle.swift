import Boxes
import Foundation
import Spec
import Support

/// The engine: moves a project's machines through their lifecycle, asking
/// libvirt (through `Hypervisor`) what is true, and keeping `.caravan/` in step.
public final class Lifecycle {
  public let project: Project
  public let hypervisor: Hypervisor
  public let communicators: CommunicatorFactory
  public let provisioners: ProvisionerRunner
  public let boxes: BoxStore
  public let reporter: Reporter
  public let environment: [String: String]

  public init(
    project: Project, hypervisor: Hypervisor, communicators: CommunicatorFactory,
    provisioners: ProvisionerRunner, boxes: BoxStore, reporter: Reporter,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.project = project
    self.hypervisor = hypervisor
    self.communicators = communicators
    self.provisioners = provisioners
    self.boxes = boxes
    self.reporter = reporter
    self.environment = environment
  }

  /// What `up` acts on with this hypervisor and provisioner runner.
  public var support: SettingSupport {
    SettingSupport.engine.union(hypervisor.support).union(provisioners.support)
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

  /// The machine as libvirt has it, with its record when the record matches
  /// the domain; stale state (domain gone) is cleared so the next step starts clean.
  func reconcile(_ machine: MachineSpec) throws -> MachineState {
    let domain = project.domainName(for: machine.name)
    let status = try hypervisor.status(domain: domain)
    let record = try project.loadRecord(machine.name)
    if status == .notCreated {
      if record != nil {
        reporter.step(
          machine.name, "its domain '\(domain)' is gone from libvirt; clearing the stale state in .caravan/")
        try project.removeMachineState(machine.name)
      }
      return .notCreated
    }
    guard let record else { return .untracked(status) }
    let uuid = try hypervisor.uuid(domain: domain)
    if uuid != record.domainUUID {
      reporter.warning(
        "machine '\(machine.name)': libvirt's domain '\(domain)' is not the one Caravan made (UUID \(uuid ?? "?") instead of \(record.domainUUID))"
      )
      return .untracked(status)
    }
    return .tracked(status, record)
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
      let own = project.keyPath(machine.name)
      keys = (FileSystem.exists(own) ? [own] : []) + (try communicators.insecureKeyFiles())
    }
    if keys.isEmpty { keys = [project.keyPath(machine.name)] }
    let control =
      shared ? CaravanPaths.runtime(environment: environment) + "/\(project.id)-\(machine.name.prefix(40))" : nil
    return SSHEndpoint(
      port: record.sshPort, user: machine.ssh.user, identityFiles: keys,
      extraArgs: machine.ssh.extraArgs, forwardAgent: machine.ssh.forwardAgent, controlPath: control)
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
    MachineStateError(
      machine: machine.name, argument: project.spec.machines.count > 1 ? " " + machine.name : "", action: action)
  }
}
