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

  public func run(
    _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String,
    on communicator: Communicator, reporter: Reporter
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
        ansible, name: provisioner.name, machine: machine, projectRoot: projectRoot, on: communicator,
        reporter: reporter)
    case .puppet(let puppet):
      try runPuppet(
        puppet, name: provisioner.name, machine: machine, projectRoot: projectRoot, on: communicator,
        reporter: reporter)
    }
  }

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

  /// The guest command that makes a new, empty file for the script and prints its
  /// path. mktemp picks a name nobody can guess and creates it (mode 0600, owned
  /// by the login user) only if nothing is there, so no other user of the guest
  /// can put a script of theirs where one that runs as root is expected.
  static func makeScriptFileCommand(name: String) -> String {
    "mktemp \(shellQuote(scriptFilePrefix(name: name) + "XXXXXXXXXX"))"
  }

  static func scriptFilePrefix(name: String) -> String {
    "/tmp/caravan-shell-" + String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }) + "."
  }

  func runShell(
    _ shell: ShellProvisioner, name: String, machine: MachineSpec, projectRoot: String,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    let data = try script(shell, name: name, projectRoot: projectRoot)
    let remote = try shell.uploadPath ?? makeScriptFile(name: name, on: communicator)
    // Removed after the run, and also when the upload or the run fails.
    defer { _ = try? communicator.execute("rm -f \(shellQuote(remote))") { _, _ in } }
    try communicator.upload(data, to: remote)
    var tail: [String] = []
    let status = try communicator.execute(GuestProvisioner.command(shell, remotePath: remote)) { _, line in
      reporter.detail(machine.name, line)
      tail.append(line)
      if tail.count > GuestProvisioner.tailLines { tail.removeFirst() }
    }
    guard status == 0 else {
      let again = "Fix the script and run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)`."
      throw CaravanError(
        .guest, "provisioner '\(name)' of machine '\(machine.name)' failed with exit status \(status)",
        hint: ((tail.isEmpty ? ["It printed nothing."] : ["Its last lines:"] + tail.map { "  " + $0 }) + [again])
          .joined(separator: "\n"))
    }
  }

  /// Makes the script's file in the guest; its path is the line of mktemp's
  /// output that has the expected form (a login shell may print other lines).
  func makeScriptFile(name: String, on communicator: Communicator) throws -> String {
    var output: [String] = []
    let status = try communicator.execute(GuestProvisioner.makeScriptFileCommand(name: name)) { _, line in
      output.append(line)
    }
    let prefix = GuestProvisioner.scriptFilePrefix(name: name)
    guard status == 0, let path = output.last(where: { $0.hasPrefix(prefix) }) else {
      throw CaravanError(
        .guest,
        "provisioner '\(name)': mktemp could not make a file for the script in the guest (exit status \(status))"
          + (output.isEmpty ? "" : ": " + output.joined(separator: " ")),
        hint: "Check that /tmp in the guest exists and is writable.")
    }
    return path
  }
}
