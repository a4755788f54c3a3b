import Core
import Foundation
import Host
import Support
import TestSupport
import Testing

@testable import SSH

/// SSH to a guest of a remote libvirt goes through the libvirt host: `ProxyJump`, or a
/// `ProxyCommand` when the URI's key or `no_verify` must apply to the jump. Checked
/// with the real OpenSSH client: `ssh -G`, and a stand-in `ssh` for the ProxyCommand
/// that writes down the arguments its shell handed it.
struct JumpHostTests {
  static let guest = SSHEndpoint(port: 2222, user: "vagrant", identityFiles: ["/k/machine"])

  @Test func theArgumentsJumpThroughTheLibvirtHost() async throws {
    var endpoint = JumpHostTests.guest
    endpoint.jump = SSHJump(user: "root", host: "198.18.0.2", port: 2022)
    let args = OpenSSHCommunicator.arguments(endpoint)
    #expect(args.suffix(3) == ["-o", "ProxyJump=root@198.18.0.2:2022", "vagrant@127.0.0.1"], "\(args)")
    let lines = try await configuration(args)
    // `ssh -G` writes the jump's address in brackets.
    #expect(lines.contains("proxyjump root@[198.18.0.2]:2022"), "\(lines.sorted())")
    #expect(lines.contains("hostname 127.0.0.1") && lines.contains("port 2222"))
  }

  @Test func aKeyedJumpRunsSSHWithTheURIsKeyThroughItsShell() async throws {
    var endpoint = JumpHostTests.guest
    endpoint.jump = SSHJump(user: "root", host: "h", port: 22, identityFile: "/k/my key's 100%", verifyHostKey: false)
    let recorded = try await proxiedArguments(OpenSSHCommunicator.arguments(endpoint, connectTimeout: 5))
    #expect(
      recorded == [
        "-p", "22", "-i", "/k/my key's 100%", "-o", "StrictHostKeyChecking=no", "-W", "[127.0.0.1]:2222", "root@h",
      ])
  }

  @Test func sshConfigCarriesTheJumpAndPlainSSHReadsIt() async throws {
    var endpoint = JumpHostTests.guest
    endpoint.jump = SSHJump(user: "root", host: "198.18.0.2")
    let block = SSHConfig.block(host: "web", endpoint: endpoint)
    #expect(block.contains("  Port 2222\n  ProxyJump root@198.18.0.2\n  UserKnownHostsFile /dev/null\n"), "\(block)")
    let dir = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileSystem.writeAtomically(Data(block.utf8), to: dir + "/config")
    let lines = try await configuration(["ssh", "-F", dir + "/config", "web"])
    #expect(lines.contains("proxyjump root@[198.18.0.2]") && lines.contains("hostname 127.0.0.1"), "\(lines.sorted())")

    endpoint.jump = SSHJump(user: "root", host: "h", port: 2022, identityFile: "/k/jump key")
    let keyed = SSHConfig.block(host: "web", endpoint: endpoint)
    #expect(keyed.contains("  ProxyCommand ssh -p 2022 -i '/k/jump key' -W '[%h]:%p' root@h\n"), "\(keyed)")
    try FileSystem.writeAtomically(Data(keyed.utf8), to: dir + "/config")
    let recorded = try await proxiedArguments(["ssh", "-F", dir + "/config", "-o", "ConnectTimeout=5", "web"])
    #expect(recorded == ["-p", "2022", "-i", "/k/jump key", "-W", "[127.0.0.1]:2222", "root@h"])
  }

  func temporaryFolder() throws -> String {
    let dir = NSTemporaryDirectory() + "caravan-jump-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Runs the real ssh with `args` (plus `true`) and a stand-in `ssh` first in PATH for
  /// its ProxyCommand, which writes its arguments one a line and fails; returns them.
  func proxiedArguments(_ args: [String]) async throws -> [String] {
    let dir = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let fake = dir + "/ssh"
    try FileSystem.writeAtomically(
      Data("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"\(dir)/args\"\nexit 1\n".utf8), to: fake,
      mode: 0o755)
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = dir + ":" + (environment["PATH"] ?? "/usr/bin")
    environment["SHELL"] = "/bin/sh"
    let real = ["/usr/bin/ssh"] + args.dropFirst() + ["true"]
    let shellEnvironment = environment
    let result = try await onThread { try Subprocess(real, environment: shellEnvironment, timeout: 30).run() }
    #expect(result.status == 255, "\(result.stderr)")
    let text = try String(contentsOfFile: dir + "/args", encoding: .utf8)
    return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
  }

  func configuration(_ args: [String]) async throws -> Set<String> {
    let result = try await onThread { try Subprocess([args[0], "-G"] + args.dropFirst()).run() }
    #expect(result.status == 0, "\(result.stderr)")
    return Set(result.stdout.split(separator: "\n").map(String.init))
  }
}
