import Foundation
import Spec
import Support

extension Lifecycle {
  /// `caravan suspend`: saves each running (or paused) machine's memory to disk
  /// and stops it (libvirt managed save). It survives a host reboot; `resume`
  /// or `up` continues it where it was. A machine already saved is left as it is.
  public func suspend(_ machines: [MachineSpec]) throws {
    for machine in machines {
      try track(machine.name, .suspend) { try suspend(machine) }
    }
  }

  func suspend(_ machine: MachineSpec) throws {
    let name = machine.name
    let state = try reconcile(machine)
    switch state {
    case .tracked(.saved, _):
      reporter.step(name, "already suspended (its memory is saved)")
    case .tracked(.running, let record), .tracked(.paused, let record):
      // The guest's connections do not survive: end the shared one now, not on first use.
      closeSharedConnection(machine, record: record)
      reporter.step(name, "saving its memory to disk and stopping it")
      let started = Date()
      try savedStates.saveMemory(domain: record.domainName)
      reporter.step(
        name,
        "suspended in \(Lifecycle.seconds(since: started)); `caravan resume\(argument(for: machine))` continues it")
    case .untracked(.running), .untracked(.paused):
      throw stateErrors(machine, action: "suspend").untracked(
        domain: project.domainName(for: name), stateDirectory: project.stateDirectory)
    default:
      throw stateErrors(machine, action: "suspend").notRunning(state.status)
    }
  }

  /// `caravan resume`: continues each suspended (saved) or paused machine and
  /// waits for SSH. A running machine is left as it is; one that is powered
  /// off or not created is an error that says to run `up`.
  public func resume(_ machines: [MachineSpec]) throws {
    for machine in machines {
      try track(machine.name, .resume) { try resume(machine) }
    }
  }

  func resume(_ machine: MachineSpec) throws {
    let state = try reconcile(machine)
    switch state {
    case .tracked(.running, _):
      reporter.step(machine.name, "already running")
    case .tracked(.saved, let record), .tracked(.paused, let record):
      try continueSuspended(machine, status: state.status, record: record)
    case .untracked(.saved), .untracked(.paused), .untracked(.running):
      throw stateErrors(machine, action: "resume").untracked(
        domain: project.domainName(for: machine.name), stateDirectory: project.stateDirectory)
    default:
      throw stateErrors(machine, action: "resume").notRunning(state.status)
    }
  }

  /// Restores a saved machine's memory (or unpauses a paused one) and waits
  /// for SSH: no boot, no hostname, no provisioners. `resume` and `up` share it.
  /// Returns its record, with the ports it has now (one taken meanwhile moves).
  @discardableResult
  func continueSuspended(_ machine: MachineSpec, status: MachineStatus, record: MachineRecord) throws -> MachineRecord {
    let name = machine.name
    let started = Date()
    var record = record
    if status == .saved {
      reporter.step(name, "restoring its saved memory")
      record = try bringBack(machine, record: record, from: .savedMemory) {
        try hypervisor.start(domain: record.domainName)
      }
    } else {
      reporter.step(name, "unpausing it")
      do {
        try savedStates.unpause(domain: record.domainName)
      } catch {
        // A restore that a killed `up --warm` started goes on in libvirt and lets the
        // guest run when it ends: then there was nothing left to unpause.
        guard (try? hypervisor.status(domain: record.domainName)) == .running else { throw error }
      }
    }
    let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
    // The shared connection stays up for ControlPersist (60 s): the next command reuses it.
    try waitForSSH(machine, record: record, communicator: communicator)
    reporter.step(
      name,
      "resumed in \(Lifecycle.seconds(since: started)); `caravan ssh\(argument(for: machine))` logs in (port \(record.sshPort))"
    )
    return record
  }

  static func seconds(since start: Date) -> String {
    String(format: "%.1f s", Date().timeIntervalSince(start))
  }
}
