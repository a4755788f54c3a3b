import Foundation
import Spec
import Support

extension Lifecycle {
  /// Runs `body` (one command's work) with the machines' `trigger before:/after:` for
  /// `command` around it, machine by machine as Vagrant does: a machine's before
  /// triggers, its work, its after triggers, then the next machine. Without triggers the
  /// machines go to `body` together. After triggers do not run when the work failed.
  /// With `perMachine` false (`status`, one table for all), every machine's before
  /// triggers run first and every machine's after triggers last.
  public func withTriggers(
    _ command: String, _ machines: [MachineSpec], perMachine: Bool = true, _ body: ([MachineSpec]) throws -> Void
  ) throws {
    guard
      machines.contains(where: {
        !triggers(of: $0, .before, command).isEmpty || !triggers(of: $0, .after, command).isEmpty
      })
    else { return try body(machines) }
    guard perMachine else {
      for machine in machines { try runTriggers(.before, command, machine) }
      try body(machines)
      for machine in machines { try runTriggers(.after, command, machine) }
      return
    }
    for machine in machines {
      try runTriggers(.before, command, machine)
      try body([machine])
      try runTriggers(.after, command, machine)
    }
  }

  func triggers(of machine: MachineSpec, _ when: TriggerSpec.When, _ command: String) -> [TriggerSpec] {
    machine.triggers.filter { $0.when == when && $0.commands.contains(command) }
  }

  /// Each trigger in file order, recorded in the events with its duration and outcome.
  /// A failure stops the command (`on_error: halt`, the default) or is a warning
  /// (`on_error: continue`).
  public func runTriggers(_ when: TriggerSpec.When, _ command: String, _ machine: MachineSpec) throws {
    for trigger in triggers(of: machine, when, command) {
      let label =
        "\(when.rawValue) \(command) (\((project.machinefilePath as NSString).lastPathComponent):\(trigger.location.line))"
      try track(machine.name, .trigger, detail: label) {
        reporter.step(machine.name, "running trigger \(label)")
        do {
          try provisioners.runTrigger(
            trigger, machine: machine, projectRoot: project.root,
            on: trigger.runRemote == nil ? nil : try? guestConnection(machine), reporter: reporter)
        } catch let error as CaravanError where trigger.onError == .continue {
          reporter.warning("\(error.message); it has on_error: continue, so `caravan \(command)` goes on")
        }
      }
    }
  }

  /// The machine's shared SSH connection, when it runs.
  private func guestConnection(_ machine: MachineSpec) throws -> Communicator {
    let record = try runningRecord(machine, for: "run a trigger in")
    return communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
  }
}
