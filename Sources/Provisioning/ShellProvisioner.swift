import Core
import Foundation
import Spec
import Support

/// The shell provisioner: the script, inline or a host file, uploaded and run (as root by
/// default) by one guest command, its output streamed.
extension GuestProvisioner {
  func script(_ shell: ShellProvisioner, name: String, projectRoot: String) throws -> Data {
    if let inline = shell.inline { return Data(inline.utf8) }
    guard let path = shell.path else {
      throw CaravanError(.invalidInput, "shell provisioner '\(name)' has neither inline: nor path:")
    }
    let full = FileSystem.resolve(path, relativeTo: projectRoot)
    guard let data = FileManager.default.contents(atPath: full) else {
      throw CaravanError(
        .notFound, "shell provisioner '\(name)': script '\(path)' not found (looked at \(full))",
        hint: "Paths are relative to the folder of the Machinefile.")
    }
    return data
  }

  /// The guest command that runs the uploaded script: `sh -c`, or `sudo -n -H sh -c`
  /// when privileged, with the environment (in the order of its names) and the
  /// arguments each given as one quoted word.
  static func command(_ shell: ShellProvisioner, remotePath: String) -> String {
    let env = shell.env.sorted { $0.key < $1.key }.map { shellQuote("\($0.key)=\($0.value)") }
    let run =
      (env.isEmpty ? "" : "env " + env.joined(separator: " ") + " ")
      + ([remotePath] + shell.args).map(shellQuote).joined(separator: " ")
    let body = "chmod +x \(shellQuote(remotePath)) && \(run)"
    return shell.privileged ? "sudo -n -H sh -c \(shellQuote(body))" : "sh -c \(shellQuote(body))"
  }

  func runShell(
    _ shell: ShellProvisioner, name: String, machine: MachineSpec, projectRoot: String,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    let data = try script(shell, name: name, projectRoot: projectRoot)
    let remote = shell.uploadPath ?? GuestProvisioner.freshPath(name: name)
    // One round trip: the script is written, run and removed by one guest command.
    let command = GuestProvisioner.staged(
      at: remote, exclusive: shell.uploadPath == nil, then: GuestProvisioner.command(shell, remotePath: remote))
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status = try communicator.execute(command, input: data) { _, line in
      reporter.detail(machine.name, line)
      tail.append(line)
    }
    if status == GuestProvisioner.stagingFailed, let last = tail.last, last.hasPrefix("caravan: cannot write") {
      throw CaravanError(
        .guest, "provisioner '\(name)' of machine '\(machine.name)': \(last.dropFirst("caravan: ".count))",
        hint: shell.uploadPath == nil
          ? "Check that /tmp in the guest exists and is writable."
          : "Check upload_path: the login user must be able to write it.")
    }
    guard status == 0 else {
      let again = "Fix the script and run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)`."
      throw CaravanError(
        .guest, "provisioner '\(name)' of machine '\(machine.name)' failed with exit status \(status)",
        hint: (tail.quoted(silent: ["It printed nothing."]) + [again])
          .joined(separator: "\n"))
    }
  }
}
