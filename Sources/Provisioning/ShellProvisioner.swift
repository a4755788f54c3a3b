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

  static func scriptFilePrefix(name: String) -> String {
    "/tmp/caravan-shell-" + String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }) + "."
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

  /// A new path for a script in the guest's /tmp: the provisioner's name and ten random
  /// letters and digits chosen here (nobody in the guest can guess them).
  public static func freshPath(name: String) -> String {
    let characters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    return scriptFilePrefix(name: name) + String((0..<10).map { _ in characters[Int.random(in: characters.indices)] })
  }

  /// The status of a `staged` command whose file could not be written.
  public static let stagingFailed: Int32 = 97

  /// One guest command that saves its standard input at `path`, runs `command`,
  /// removes the file and syncs, exiting with the command's status. `exclusive`: the
  /// file must be new (noclobber opens it with O_EXCL, so nothing planted there, file or
  /// symbolic link, is ever used, as with mktemp); it is private (mode 0600) either way.
  /// The `sync` (any user may run it) puts what the command wrote on the guest's disk
  /// before the command returns, in the same round trip: Caravan records a provisioner
  /// as run only after that, so a hard power-off then never loses its work.
  public static func staged(at path: String, exclusive: Bool, then command: String) -> String {
    let quoted = shellQuote(path)
    return "(umask 077 && \(exclusive ? "set -C && " : "")cat > \(quoted)) || "
      + "{ printf \"caravan: cannot write '%s' in the guest\\n\" \(quoted) >&2; exit \(stagingFailed); }; "
      + "\(command); s=$?; rm -f \(quoted); \(syncCommand); exit $s"
  }

  /// What ends every provisioner's guest command: the guest's writes, on its disk.
  public static let syncCommand = "sync"
}
