import Core
import Foundation
import Spec
import Support

/// `trigger before:/after: COMMAND, run:, run_remote:`: the host command runs with
/// `/bin/sh -c` in the project folder (CARAVAN_MACHINE names the machine), the guest
/// command with `sudo -n sh -c` over the machine's connection; output is streamed and
/// prefixed with the machine, as provisioners' is.
extension GuestProvisioner {
  public func runTrigger(
    _ trigger: TriggerSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator?,
    reporter: Reporter
  ) throws {
    let what =
      "trigger \(trigger.when.rawValue) \(trigger.commands.joined(separator: ", ")) of machine '\(machine.name)'"
    if let run = trigger.run {
      var tail = OutputTail(GuestProvisioner.tailLines)
      var environment = ProcessInfo.processInfo.environment
      environment["CARAVAN_MACHINE"] = machine.name
      let status = try Subprocess(
        ["/bin/sh", "-c", "cd \(shellQuote(projectRoot)) && { \(run)\n}"], environment: environment
      ).runStreamingLines { _, line in
        reporter.detail(machine.name, line)
        tail.append(line)
      }
      guard status == 0 else {
        throw GuestProvisioner.triggerFailed(what, "its host command `\(run)`", status: status, tail: tail)
      }
    }
    if let remote = trigger.runRemote {
      guard let communicator else {
        reporter.warning("\(what): run_remote skipped, the machine is not running")
        return
      }
      var tail = OutputTail(GuestProvisioner.tailLines)
      let status = try communicator.execute("sudo -n sh -c \(shellQuote(remote))") { _, line in
        reporter.detail(machine.name, line)
        tail.append(line)
      }
      guard status == 0 else {
        throw GuestProvisioner.triggerFailed(what, "its guest command `\(remote)`", status: status, tail: tail)
      }
    }
  }

  static func triggerFailed(_ what: String, _ command: String, status: Int32, tail: OutputTail) -> CaravanError {
    CaravanError(
      .guest, "\(what) failed: \(command) exited with status \(status)",
      hint: (tail.quoted(silent: ["It printed nothing."])
        + ["Fix the command, or give the trigger on_error: continue to go on when it fails."])
        .joined(separator: "\n"))
  }
}
