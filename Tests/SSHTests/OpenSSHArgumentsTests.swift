import Core
import Foundation
import Support
import TestSupport
import Testing

@testable import SSH

/// The `ssh` command line of `OpenSSHCommunicator`, read back by the real OpenSSH
/// client: key and control socket paths with blanks, quotes, `%`, `$` and `#`
/// must reach ssh as the exact paths.
struct OpenSSHArgumentsTests {
  static let awkwardNames = [
    "plain", "with space", "it's", #"say "hi""#, "100%", "%d and %x", "%%", #"back\slash"#, "$HOME", "#hash",
    "tab\there",
  ]

  /// `ssh -G` prints the configuration after `%` expansion of ControlPath, without connecting.
  @Test(arguments: awkwardNames)
  func theControlPathIsReadBackExactly(name: String) async throws {
    let control = "/tmp/caravan ctl/\(name)/m.sock"
    let endpoint = SSHEndpoint(port: 2222, user: "vagrant", identityFiles: ["/k"], controlPath: control)
    let lines = try await configuration(OpenSSHCommunicator.arguments(endpoint))
    #expect(lines.contains("controlpath \(control)"), "\(lines.filter { $0.hasPrefix("controlpath") })")
    #expect(lines.contains("controlmaster auto"))

    let stop = try #require(OpenSSHCommunicator.stopMasterArguments(endpoint))
    #expect(try await configuration(stop).contains("controlpath \(control)"))
  }

  /// ssh reads identity files when it connects (`ssh -G` shows them before
  /// expansion): through a ProxyCommand that closes at once, ssh at debug level
  /// names each key file it loaded and its type (3: ed25519), then fails the
  /// handshake. (`-vvv`: the arguments' LogLevel=ERROR comes first and wins, and
  /// each `-v` raises it one level, to DEBUG1.)
  @Test func identityFilesAreLoadedFromTheExactPaths() async throws {
    let root = NSTemporaryDirectory() + "caravan ssh-args \(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    var keys: [String] = []
    for (index, name) in Self.awkwardNames.enumerated() {
      let key = "\(root)/\(name)/id \(index)"
      try await onThread { try OpenSSHFactory(keyDirectory: root).generateKey(at: key, comment: "test") }
      keys.append(key)
    }
    let endpoint = SSHEndpoint(
      port: 2222, user: "vagrant", identityFiles: keys, extraArgs: ["-vvv", "-o", "ProxyCommand=true"])
    let args = OpenSSHCommunicator.arguments(endpoint, connectTimeout: 5) + ["true"]
    let result = try await onThread { try Subprocess(args, timeout: 30).run() }
    #expect(result.status == 255)
    // ssh ends its log lines with "\r\n" and writes `\` as `\\`; type 3 says the
    // file was found and read as an ed25519 key, so the path was the exact one.
    let loaded = result.stderr.split(whereSeparator: \.isNewline).compactMap { line -> String? in
      guard line.hasPrefix("debug1: identity file "), !line.hasSuffix("-cert type -1") else { return nil }
      return String(line.dropFirst("debug1: identity file ".count))
    }
    #expect(loaded == keys.map { $0.replacingOccurrences(of: "\\", with: "\\\\") + " type 3" }, "\(result.stderr)")
    #expect(!result.stderr.contains("not accessible"))
  }

  @Test func withoutAControlPathNothingIsShared() async throws {
    let endpoint = SSHEndpoint(port: 2222, user: "vagrant", identityFiles: ["/k"])
    let lines = try await configuration(OpenSSHCommunicator.arguments(endpoint))
    #expect(lines.contains("controlmaster false"))
    #expect(!lines.contains { $0.hasPrefix("controlpath") })
    #expect(OpenSSHCommunicator.stopMasterArguments(endpoint) == nil)
  }

  /// Keys only, in batch mode, unless the endpoint has a password: then keys first,
  /// then one password try, and no batch mode (it would forbid asking).
  @Test func aPasswordTurnsOnPasswordLoginAfterTheKeys() async throws {
    let keysOnly = try await configuration(
      OpenSSHCommunicator.arguments(SSHEndpoint(port: 2222, user: "vagrant", identityFiles: ["/k"])))
    #expect(keysOnly.contains("passwordauthentication no") && keysOnly.contains("batchmode yes"))
    let endpoint = SSHEndpoint(port: 2222, user: "vagrant", identityFiles: ["/k"], password: "pw")
    let lines = try await configuration(OpenSSHCommunicator.arguments(endpoint))
    #expect(lines.contains("passwordauthentication yes") && lines.contains("batchmode no"), "\(lines.sorted())")
    #expect(lines.contains("numberofpasswordprompts 1"))
    #expect(lines.contains("preferredauthentications publickey,keyboard-interactive,password"))
    #expect(lines.contains("identityfile /k"))
  }

  /// ssh runs the askpass helper with the prompt as its argument; it prints the password
  /// exactly, from a 0600 file in a 0700 folder; neither the helper nor the environment
  /// holds the secret, and `close` removes the file.
  @Test(arguments: ["vagrant", "s3cret pass'word", #"$HOME `id` "q" \n %s -n"#, "-e"])
  func theAskpassHelperPrintsThePasswordExactly(password: String) async throws {
    let directory = NSTemporaryDirectory() + "caravan askpass \(getpid()) \(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let endpoint = SSHEndpoint(port: 2222, user: "vagrant", identityFiles: [], password: password)
    let communicator = OpenSSHCommunicator(endpoint: endpoint, helperDirectory: directory)
    let process = try communicator.ssh(["true"])
    let environment = try #require(process.environment)
    let helper = try #require(environment["SSH_ASKPASS"])
    #expect(environment["SSH_ASKPASS_REQUIRE"] == "force")
    #expect(environment["PATH"] == ProcessInfo.processInfo.environment["PATH"])
    #expect(!environment.values.contains { $0.contains(password) }, "no password in the environment")
    #expect(!process.arguments.contains { $0.contains(password) })
    let file = try #require(environment[OpenSSHCommunicator.passwordFileVariable])
    for (path, mode) in [(directory, 0o700), (helper, 0o700), (file, 0o600)] {
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      #expect(attributes[.posixPermissions] as? Int == mode, "\(path)")
    }
    let result = try await onThread {
      try Subprocess([helper, "vagrant@127.0.0.1's password: "], environment: environment).run()
    }
    #expect(result.status == 0 && result.stdout == password + "\n", "\(result)")
    let script = try String(contentsOfFile: helper, encoding: .utf8)
    #expect(!script.contains(password))
    communicator.close()
    #expect(!FileManager.default.fileExists(atPath: file), "close removes the password file")
    let plain = SSHEndpoint(port: 1, user: "u", identityFiles: [])
    #expect(OpenSSHCommunicator.environment(plain, askpass: helper, passwordFile: file) == nil)
  }

  /// `ssh -G` with the arguments (the destination stays last).
  func configuration(_ args: [String]) async throws -> Set<String> {
    let result = try await onThread { try Subprocess([args[0], "-G"] + args.dropFirst()).run() }
    #expect(result.status == 0, "\(result.stderr)")
    return Set(result.stdout.split(separator: "\n").map(String.init))
  }
}
