import Core
import Foundation
import Support

/// `Communicator` over the OpenSSH client. While a command runs, one
/// ControlMaster connection per machine carries every step.
public final class OpenSSHCommunicator: Communicator {
  public private(set) var endpoint: SSHEndpoint
  public var sshEndpoint: SSHEndpoint? { endpoint }
  /// Where the askpass helper is written when the endpoint has a password (the
  /// factory's private key folder).
  let helperDirectory: String

  public init(endpoint: SSHEndpoint, helperDirectory: String) {
    self.endpoint = endpoint
    self.helperDirectory = helperDirectory
  }

  /// `ssh` and its options, up to and including the destination.
  ///
  /// Paths go in as `-o Key=value` lines, which ssh reads back as the exact path
  /// whatever it holds: `%` doubled (ssh expands `%` tokens in IdentityFile and
  /// ControlPath), in double quotes when it holds a blank or a quote. Not `-i`:
  /// ssh checks that file exists before expanding `%%`, so an escaped path is
  /// dropped ("not accessible"), and an unescaped one is expanded (`%d` is the
  /// home folder, `%x` an error). (A literal `${` cannot be written at all: ssh
  /// expands `${NAME}` from the environment and has no escape for it.)
  public static func arguments(_ endpoint: SSHEndpoint, batch: Bool = true, connectTimeout: Int = 10, tty: Bool = false)
    -> [String]
  {
    var args = [
      "ssh", "-p", String(endpoint.port),
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=\(connectTimeout)",
      "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=6",
    ]
    if endpoint.password != nil {
      // Keys first, then the password, which ssh reads from the askpass helper
      // (`environment(_:askpass:)`); BatchMode would forbid asking at all.
      args += [
        "-o", "PasswordAuthentication=yes", "-o", "KbdInteractiveAuthentication=yes",
        "-o", "NumberOfPasswordPrompts=1", "-o", "PreferredAuthentications=publickey,keyboard-interactive,password",
      ]
    } else {
      args += ["-o", "PasswordAuthentication=no"]
      if batch { args += ["-o", "BatchMode=yes"] }
    }
    for key in endpoint.identityFiles { args += ["-o", pathOption("IdentityFile", key)] }
    if let control = endpoint.controlPath {
      args += ["-o", "ControlMaster=auto", "-o", pathOption("ControlPath", control), "-o", "ControlPersist=60"]
    } else {
      args += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
    }
    if let jump = endpoint.jump {
      let option = jump.openSSHOption
      args += ["-o", "\(option.key)=\(option.value)"]
    }
    if endpoint.forwardAgent { args.append("-A") }
    if tty { args.append("-t") }
    args += endpoint.extraArgs
    args.append("\(endpoint.user)@\(endpoint.host)")
    return args
  }

  /// The environment ssh runs in: nil (inherited) without a password; with one, ssh
  /// always asks `askpass` (SSH_ASKPASS_REQUIRE=force, so no terminal is involved),
  /// which prints the password from `passwordFile` (0600): never from an argument or
  /// the environment (which every child of ssh, the shared connection too, inherits).
  static func environment(_ endpoint: SSHEndpoint, askpass: String, passwordFile: String) -> [String: String]? {
    guard endpoint.password != nil else { return nil }
    var environment = ProcessInfo.processInfo.environment
    environment["SSH_ASKPASS"] = askpass
    environment["SSH_ASKPASS_REQUIRE"] = "force"
    environment[passwordFileVariable] = passwordFile
    return environment
  }

  static let passwordFileVariable = "CARAVAN_SSH_PASSWORD_FILE"

  /// Writes the askpass helper (0700) into `directory` (0700) once; it holds no secret.
  static func askpassHelper(in directory: String) throws -> String {
    let path = directory + "/caravan-askpass"
    let script = Data("#!/bin/sh\nexec cat -- \"$\(passwordFileVariable)\"\n".utf8)
    if FileManager.default.contents(atPath: path) != script {
      try FileSystem.makeDirectory(directory, mode: 0o700)
      try FileSystem.writeAtomically(script, to: path, mode: 0o700)
    }
    return path
  }

  /// The file the askpass helper reads this endpoint's password from, in the helper's folder.
  var passwordFile: String { helperDirectory + "/caravan-password-\(getpid())-\(endpoint.port)" }

  /// Writes the password (and a newline) to `passwordFile`, 0600; close() removes it.
  func writePasswordFile(_ password: String) throws -> String {
    try FileSystem.makeDirectory(helperDirectory, mode: 0o700)
    try FileSystem.writeAtomically(Data((password + "\n").utf8), to: passwordFile, mode: 0o600)
    return passwordFile
  }

  /// A `Subprocess` running ssh with `args` for this endpoint.
  func ssh(_ args: [String], input: Data? = nil, timeout: Double? = nil) throws -> Subprocess {
    guard let password = endpoint.password else { return Subprocess(args, input: input, timeout: timeout) }
    let environment = OpenSSHCommunicator.environment(
      endpoint, askpass: try OpenSSHCommunicator.askpassHelper(in: helperDirectory),
      passwordFile: try writePasswordFile(password))
    return Subprocess(args, environment: environment, input: input, timeout: timeout)
  }

  /// `ssh -O exit` for the machine's shared connection; nil when it has none.
  static func stopMasterArguments(_ endpoint: SSHEndpoint) -> [String]? {
    guard let control = endpoint.controlPath else { return nil }
    return ["ssh", "-o", pathOption("ControlPath", control), "-O", "exit", "\(endpoint.user)@\(endpoint.host)"]
  }

  /// `Key=value` for `-o`, with a path that ssh reads back unchanged.
  static func pathOption(_ key: String, _ path: String) -> String {
    "\(key)=\(SSHConfig.value(path: path))"
  }

  func prepareControlDirectory() {
    guard let control = endpoint.controlPath else { return }
    let dir = (control as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(
      atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  }

  public func probe() -> (ready: Bool, detail: String) {
    prepareControlDirectory()
    let args = OpenSSHCommunicator.arguments(endpoint, connectTimeout: 5) + ["true"]
    do {
      let result = try ssh(args, timeout: 20).run()
      let detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
      return (result.status == 0, detail.isEmpty ? "ssh exit status \(result.status)" : detail)
    } catch {
      return (false, "\(error)")
    }
  }

  public func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    try execute(command, input: nil, output: output)
  }

  public func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    prepareControlDirectory()
    let status = try ssh(OpenSSHCommunicator.arguments(endpoint) + [command], input: input).runStreamingLines(output)
    if status == 255 {
      throw CaravanError(
        .guest,
        "the SSH connection to \(endpoint.user)@\(endpoint.host):\(endpoint.port) failed while running a command",
        hint: "Check that the machine runs (`caravan status`) and try again.")
    }
    return status
  }

  public func upload(_ data: Data, to remotePath: String) throws {
    var errors = ""
    let status = try execute("cat > \(shellQuote(remotePath))", input: data) { _, line in errors += line + "\n" }
    guard status == 0 else {
      throw CaravanError(
        .guest, "cannot write '\(remotePath)' in the guest: \(errors.trimmingCharacters(in: .whitespacesAndNewlines))",
        hint: "Check that \(endpoint.user) may write there.")
    }
  }

  public func upload(file: String, to remotePath: String) throws {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw CaravanError(.notFound, "cannot read '\(file)' to copy it into the guest", hint: "Check the path.")
    }
    try upload(data, to: remotePath)
  }

  public func replaceKey(withPrivateKeyAt path: String) throws {
    guard
      let publicKey = (try? String(contentsOfFile: path + ".pub", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines), !publicKey.isEmpty
    else {
      throw CaravanError(
        .notFound, "the public key '\(path).pub' is missing", hint: "Remove '\(path)' so a new pair is made.")
    }
    _ = try run(
      OpenSSHCommunicator.addKeyCommand(publicKey: publicKey), what: "adding the new key to ~/.ssh/authorized_keys")
    // Verify the new key on a connection of its own before the old keys go.
    var fresh = endpoint
    fresh.identityFiles = [path]
    fresh.controlPath = nil
    fresh.password = nil
    let check = OpenSSHCommunicator(endpoint: fresh, helperDirectory: helperDirectory).probe()
    guard check.ready else {
      throw CaravanError(
        .guest, "the new key '\(path)' does not log in (\(check.detail)); the box's key was left in place",
        hint: "Check sshd's AuthorizedKeysFile setting in the box.")
    }
    _ = try run(
      OpenSSHCommunicator.removeInsecureKeysCommand(keeping: publicKey),
      what: "removing the insecure key from ~/.ssh/authorized_keys")
    endpoint.identityFiles = [path]
  }

  /// The same ssh command and options as every other step, on the shared connection
  /// (its ControlPath), for rsync's `-e`; the destination apart, as rsync adds it.
  public var remoteShell: RemoteShell? {
    prepareControlDirectory()
    var args = OpenSSHCommunicator.arguments(endpoint)
    let destination = args.removeLast()
    return RemoteShell(arguments: args, destination: destination)
  }

  public func close() {
    if endpoint.password != nil { try? FileManager.default.removeItem(atPath: passwordFile) }
    guard let control = endpoint.controlPath, FileManager.default.fileExists(atPath: control),
      let args = OpenSSHCommunicator.stopMasterArguments(endpoint)
    else { return }
    _ = try? Subprocess(args, timeout: 10).run()
  }
}

public struct OpenSSHFactory: CommunicatorFactory {
  let keyDirectory: String

  /// `keyDirectory` holds the insecure keys as files (`$CARAVAN_HOME/keys`).
  public init(keyDirectory: String) { self.keyDirectory = keyDirectory }

  public func communicator(for endpoint: SSHEndpoint) -> Communicator {
    OpenSSHCommunicator(endpoint: endpoint, helperDirectory: keyDirectory)
  }

  public func insecurePublicKey() -> String { InsecureKeys.ed25519Public }

  public func insecureKeyFiles() throws -> [String] {
    try FileSystem.makeDirectory(keyDirectory, mode: 0o700)
    return try [("vagrant-insecure-ed25519", InsecureKeys.ed25519), ("vagrant-insecure-rsa", InsecureKeys.rsa)].map {
      name, key in
      let path = keyDirectory + "/" + name
      let data = Data((key + "\n").utf8)
      if FileManager.default.contents(atPath: path) != data {
        try FileSystem.writeAtomically(data, to: path, mode: 0o600)
      }
      return path
    }
  }

  public func generateKey(at path: String, comment: String) throws {
    try keygen(["-t", "ed25519", "-C", comment], at: path)
  }

  public func generateHostKey(type: String, at path: String) throws {
    try keygen(["-t", type] + (type == "rsa" ? ["-b", "3072"] : []) + ["-C", "root@caravan"], at: path)
  }

  func keygen(_ options: [String], at path: String) throws {
    try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o700)
    try? FileManager.default.removeItem(atPath: path)
    try? FileManager.default.removeItem(atPath: path + ".pub")
    let result = try Subprocess(["ssh-keygen", "-q", "-N", ""] + options + ["-f", path]).run()
    guard result.status == 0 else {
      throw CaravanError(
        .io, "ssh-keygen could not write '\(path)': \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
  }
}
