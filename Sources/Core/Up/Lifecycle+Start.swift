import Boxes
import Foundation
import Spec
import Support

/// What starting one machine needs, decided before its ports are chosen.
struct StartPlan {
  let up: UpPlan
  let box: InstalledBox
  let accelerator: Accelerator

  var machine: MachineSpec { up.machine }

  func machinePlan(_ lifecycle: Lifecycle, forwards: [ResolvedForward]) throws -> MachinePlan {
    try lifecycle.machinePlan(
      machine, box: box, accelerator: accelerator, forwards: forwards, interfaces: up.interfaces)
  }
}

extension Lifecycle {
  /// Starts a new machine from the box's warm state; nil when the warm start failed
  /// for another reason than a busy port (it said why and removed what it made:
  /// the caller boots cold). An interrupt is thrown, never a cold boot instead.
  func startWarm(_ start: StartPlan, state: WarmState, lock: FileLock) throws -> MachineRecord? {
    let machine = start.machine
    let domain = project.domainName(for: machine.name)
    var plan: MachinePlan?
    do {
      return try retryingBusyPorts(machine, previous: nil) { forwards in
        let machinePlan = try start.machinePlan(self, forwards: forwards)
        plan = machinePlan
        return try startWarmMachine(machine, plan: machinePlan, state: state, forwards: forwards)
      } undo: {
        try? hypervisor.remove(domain: domain, keepLogs: false)
        try? project.removeMachineState(machine.name)
      }
    } catch {
      // Stopped: what is defined stays (the next `up` starts it again); the state stays too.
      guard !interrupt.requested, let plan else { throw error }
      abandonWarmStart(machine, plan: plan, state: state, lock: lock, error: error)
      return nil
    }
  }

  /// Defines the machine (again, on a disk it keeps) and boots it.
  func startCold(_ start: StartPlan, existing: MachineRecord?) throws -> MachineRecord {
    let machine = start.machine
    let name = machine.name
    let domain = project.domainName(for: name)
    var existing = existing
    var starting = false
    do {
      return try retryingBusyPorts(machine, previous: existing) { forwards in
        starting = false
        let record = try defineMachine(
          machine, box: start.box, accelerator: start.accelerator, forwards: forwards,
          interfaces: start.up.interfaces, existing: existing)
        // Defined again on other ports when this start cannot bind one.
        existing = record
        starting = true
        try track(name, .start, detail: domain) { try hypervisor.start(domain: domain) }
        return record
      } undo: {
      }
    } catch {
      guard starting, (error as? CaravanError)?.kind != .interrupted else { throw error }
      let log = hypervisor.startLog(domain: domain).map { "\nQEMU said: \($0)" } ?? ""
      throw CaravanError(
        .hypervisor, "machine '\(name)' could not start: \(error)\(log)",
        hint:
          "Its console log is \(hypervisor.consoleLogPath(domain: domain)); `caravan destroy -f \(name)` removes it.",
        cause: error)
    }
  }

  /// Chooses the machine's ports and runs `attempt` with them. A port another
  /// program holds shows as QEMU's failure to bind it: on a remote libvirt host,
  /// whose ports cannot be probed from here, and here too when a program took the
  /// port between the probe and QEMU's start. Then `undo` runs, that port is
  /// avoided and `attempt` runs again on other ports (a few times).
  func retryingBusyPorts<T>(
    _ machine: MachineSpec, previous: @autoclosure () -> MachineRecord?,
    _ attempt: ([ResolvedForward]) throws -> T, undo: () -> Void
  ) throws -> T {
    let domain = project.domainName(for: machine.name)
    var avoided: Set<Int> = []
    while true {
      let forwards = try allocatePorts(machine, previous: previous(), avoiding: avoided)
      do {
        return try attempt(forwards)
      } catch {
        guard !interrupt.requested,
          try avoidBusyPort(error, domain: domain, forwards: forwards, avoided: &avoided, as: machine.name)
        else { throw error }
        undo()
      }
    }
  }
}
