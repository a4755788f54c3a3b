import Foundation
import Spec
import Support

extension Lifecycle {
  /// `caravan reload`: halts each machine as `halt` does (SSH poweroff, then
  /// ACPI, then a forced power-off; a suspended machine's saved memory is
  /// discarded) and brings it up again on the same ports, with its hostname set
  /// again. Provisioners run only with `provision` (then all of them).
  public func reload(_ machines: [MachineSpec], provision: Bool) throws {
    for machine in machines {
      try track(machine.name, .reload) { try reload(machine, provision: provision) }
    }
    recordInIndex()
    try updateHosts(after: machines)
  }

  func reload(_ machine: MachineSpec, provision: Bool) throws {
    let state = try reconcile(machine)
    switch state {
    case .notCreated:
      throw stateErrors(machine, action: "reload").notRunning(.notCreated)
    case .untracked:
      throw stateErrors(machine, action: "reload").untracked(
        domain: project.domainName(for: machine.name), stateDirectory: project.stateDirectory)
    case .tracked(_, let record):
      closeSharedConnection(machine, record: record)
    }
    try track(machine.name, .halt) { try halt(machine, force: false) }
    try track(machine.name, .up) { try up(try upPlan(machine), options: UpOptions(provision: provision)) }
  }
}
