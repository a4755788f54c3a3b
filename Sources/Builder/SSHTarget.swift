// Postinstall over SSH to the installed build guest: its key is the Boxfile's
// `ssh { private_key }`, else Vagrant's insecure keys (which the stock templates install),
// then the Boxfile's `ssh { password }` when it has one.

import Core
import Foundation
import Provisioning
import SSH
import Spec
import Support

struct SSHTarget: PostinstallTarget {
  let communicator: Communicator
  let spec: BuildSpec

  /// Waits for SSH on the forwarded port until the build's deadline, saying what it waits
  /// for and the console's last line; fails at once if the VM stops.
  static func connect(
    spec: BuildSpec, port: Int, log: BuildLog, deadline: Date, keyDirectory: String, controlPath: String,
    running: () throws -> Bool, consoleTail: () -> String
  ) throws -> SSHTarget {
    let factory = OpenSSHFactory(keyDirectory: keyDirectory)
    let keys = try spec.ssh.privateKey.map { [$0] } ?? factory.insecureKeyFiles()
    // One connection (a ControlMaster, made by the first probe that logs in) carries every
    // postinstall command: a new login costs seconds under emulation.
    let endpoint = SSHEndpoint(
      port: port, user: spec.ssh.user, identityFiles: keys, controlPath: controlPath, password: spec.ssh.password)
    let communicator = factory.communicator(for: endpoint)
    log.step("ssh", "waiting for SSH as \(spec.ssh.user) on 127.0.0.1:\(port)")
    let waited = try SSHWait(deadline: deadline, interval: 2, interrupt: .process).run(
      probe: communicator.probe,
      stopped: {
        guard try !running() else { return nil }
        return CaravanError(
          .guest, "the installed guest stopped before SSH answered",
          hint: "Its console's last line: \(consoleTail()). The disk may not be bootable.")
      },
      timedOut: { detail in
        CaravanError(
          .timeout, "SSH to the installed guest did not answer before the build's timeout (last: \(detail))",
          hint: "The guest's console: \(consoleTail()). Check that the template creates user '\(spec.ssh.user)' "
            + "with the key the build offers (\(spec.ssh.privateKey ?? "Vagrant's insecure key"))"
            + (spec.ssh.password == nil ? "" : " or the Boxfile's ssh password") + ", and that sshd runs.")
      },
      progress: { elapsed, detail in
        log.status(String(format: "waiting for SSH (%.0f s): %@; console: %@", elapsed, detail, consoleTail()))
      })
    log.step("ssh", String(format: "SSH is up after %.0f s", waited))
    return SSHTarget(communicator: communicator, spec: spec)
  }

  func runScript(_ script: String, arguments: [String], environment: [String: String], line: (String) -> Void)
    throws -> Int32
  {
    // One round trip: the script is written to a new private file, run and removed.
    let path = GuestProvisioner.freshPath(name: "postinstall")
    let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(shellQuote($0.value))" }
    let interpreter = script.hasPrefix("#!") ? "" : "/bin/sh "
    let command =
      "chmod 0700 \(shellQuote(path)) && \(asRoot)env \(assignments.joined(separator: " ")) \(interpreter)"
      + ([path] + arguments).map(shellQuote).joined(separator: " ")
    let remote = rooted(GuestProvisioner.staged(at: path, exclusive: true, then: command), input: Data(script.utf8))
    return try communicator.execute(remote.command, input: remote.input) { _, text in line(text) }
  }

  /// Runs `command` (which uses `asRoot`) and fails with `what` on a non-zero exit.
  func runAsRoot(_ command: String, what: String) throws {
    let remote = rooted(command)
    var collected = ""
    let status = try communicator.execute(remote.command, input: remote.input) { _, line in collected += line + "\n" }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "\(what) failed in the guest (exit status \(status)): \(collected.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
  }

  func copy(_ source: String, to destination: String) throws {
    var isDirectory: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
    if !isDirectory.boolValue {
      let staged = "/tmp/caravan-upload-\(getpid())"
      try communicator.upload(file: source, to: staged)
      try runAsRoot(
        "\(asRoot)mkdir -p \(shellQuote((destination as NSString).deletingLastPathComponent)) && \(asRoot)mv \(shellQuote(staged)) \(shellQuote(destination))",
        what: "placing \(destination)")
      return
    }
    // A folder: a tar stream through the connection, unpacked as root at the destination.
    let archive = try Subprocess(["tar", "-C", source, "-cf", "-", "."]).runData()
    let staged = "/tmp/caravan-upload-\(getpid()).tar"
    try communicator.upload(archive, to: staged)
    try runAsRoot(
      "\(asRoot)mkdir -p \(shellQuote(destination)) && \(asRoot)tar -C \(shellQuote(destination)) --no-same-owner -xf \(shellQuote(staged)); status=$?; rm -f \(shellQuote(staged)); exit $status",
      what: "unpacking into \(destination)")
  }

  /// What runs a command as root: nothing for root; `sudo -n` (passwordless, as the
  /// stock templates set up); with a Boxfile password, sudo reads it from a pipe fed by
  /// the shell's own `printf` (a builtin: no process shows it) from the variable that
  /// `rooted` fills, and the command's standard input is /dev/null, so a step never
  /// reads the password.
  var asRoot: String {
    if spec.ssh.user == "root" { return "" }
    guard spec.ssh.password != nil else { return "sudo -n " }
    return #"printf '%s\n' "$caravan_pw" | sudo -S -p '' sh -c 'exec "$@" </dev/null' sudo "#
  }

  /// `command` (which uses `asRoot`) as sent to the guest, and its standard input. With a
  /// sudo password, the password is the first line of standard input, read into a shell
  /// variable by `read` (a builtin) before anything else: it is in no command line on the
  /// host (ssh's arguments) or in the guest (`ps`), and what follows on standard input
  /// (a staged script) is left for the command.
  func rooted(_ command: String, input: Data? = nil) -> (command: String, input: Data?) {
    guard spec.ssh.user != "root", let password = spec.ssh.password else { return (command, input) }
    return ("IFS= read -r caravan_pw || exit 125; " + command, Data((password + "\n").utf8) + (input ?? Data()))
  }

  func powerOff() {
    let remote = rooted("\(asRoot)systemctl poweroff || \(asRoot)poweroff")
    _ = try? communicator.execute(remote.command, input: remote.input) { _, _ in }
    communicator.close()
  }
}
