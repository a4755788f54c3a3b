import Core
import Foundation
import Spec
import Support

/// Runs provisioners: shell (the script, inline or a host file, uploaded and run, as root by
/// default), file, ansible (the host's ansible-playbook) and puppet (`puppet apply` in the
/// guest), each with its output streamed.
public struct GuestProvisioner: ProvisionerRunner {
  /// The host's environment, where host programs (ansible-playbook) are found and run.
  var environment: [String: String]

  public init() { environment = ProcessInfo.processInfo.environment }

  /// The provisioner types `run` handles.
  public static let support = SettingSupport(provisionerTypes: ["shell", "file", "ansible", "puppet"])
  public var support: SettingSupport { GuestProvisioner.support }

  /// How many of a failing provisioner's last output lines its error repeats.
  static let tailLines = 10

  /// `running` matters to ansible only (its inventory); without it, the machine is alone there.
  public func run(
    _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String,
    running: RunningMachines = .fixed([]), on communicator: Communicator, reporter: Reporter
  ) throws {
    switch provisioner.kind {
    case .shell(let shell):
      try runShell(
        shell, name: provisioner.name, machine: machine, projectRoot: projectRoot, on: communicator, reporter: reporter)
    case .file(let source, let destination):
      try runFile(
        source: source, destination: destination, name: provisioner.name, machine: machine, projectRoot: projectRoot,
        on: communicator, reporter: reporter)
    case .ansible(let ansible):
      try runAnsible(
        ansible, name: provisioner.name, machine: machine, projectRoot: projectRoot, running: running,
        on: communicator, reporter: reporter)
    case .puppet(let puppet):
      try runPuppet(
        puppet, name: provisioner.name, machine: machine, projectRoot: projectRoot, on: communicator,
        reporter: reporter)
    }
  }
}
