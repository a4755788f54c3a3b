import Core
import Foundation
import Support
import TestSupport
import Testing

@testable import SSH

/// `caravan ssh-config` text, checked as written and as the real OpenSSH client reads it.
struct SSHConfigTests {
  @Test func blockSaysWhatCaravanSSHUses() {
    let endpoint = SSHEndpoint(
      port: 2222, user: "vagrant",
      identityFiles: ["/p/.caravan/machines/web/id_ed25519", "/home/u/.local/share/caravan/keys/vagrant-insecure-rsa"],
      forwardAgent: true)
    #expect(
      SSHConfig.block(host: "web", endpoint: endpoint) == """
        Host web
          HostName 127.0.0.1
          User vagrant
          Port 2222
          UserKnownHostsFile /dev/null
          StrictHostKeyChecking no
          PasswordAuthentication no
          IdentityFile /p/.caravan/machines/web/id_ed25519
          IdentityFile /home/u/.local/share/caravan/keys/vagrant-insecure-rsa
          IdentitiesOnly yes
          LogLevel FATAL
          ForwardAgent yes

        """)
  }

  @Test func pathsWithSpacesQuotesAndPercentAreQuotedAndEscaped() {
    let endpoint = SSHEndpoint(port: 2200, user: "vagrant", identityFiles: [#"/tmp/my "p" 100%/id"#])
    let text = SSHConfig.block(host: "default", endpoint: endpoint)
    #expect(text.contains(#"  IdentityFile "/tmp/my \"p\" 100%%/id""#), "\(text)")
  }

  @Test func extraArgumentsBecomeOptionsWhereTheyCan() {
    let endpoint = SSHEndpoint(
      port: 2200, user: "vagrant", identityFiles: ["/k"],
      extraArgs: ["-o", "ServerAliveInterval=5", "-oCompression=yes", "-v"])
    let text = SSHConfig.block(host: "default", endpoint: endpoint)
    #expect(text.contains("  ServerAliveInterval 5\n  Compression yes\n"), "\(text)")
    #expect(text.contains("  # ssh.extra_args not expressible here: -v\n"), "\(text)")
  }

  /// `ssh -G` prints the configuration the client would use, after reading the file.
  @Test func theOpenSSHClientReadsItBack() async throws {
    let dir = NSTemporaryDirectory() + "caravan ssh-config \(getpid())%"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let key = dir + "/id_ed25519"
    let endpoint = SSHEndpoint(port: 2345, user: "vagrant", identityFiles: [key])
    let file = dir + "/config"
    try FileSystem.writeAtomically(Data(SSHConfig.block(host: "box", endpoint: endpoint).utf8), to: file)
    let result = try await onThread { try Subprocess(["ssh", "-G", "-F", file, "box"]).run() }
    #expect(result.status == 0, "\(result.stderr)")
    let lines = Set(result.stdout.split(separator: "\n").map(String.init))
    for expected in [
      "hostname 127.0.0.1", "port 2345", "user vagrant", "identitiesonly yes", "loglevel FATAL",
      "stricthostkeychecking false", "userknownhostsfile /dev/null",
    ] {
      #expect(lines.contains(expected), "\(expected) in \(result.stdout)")
    }
    // `ssh -G` shows IdentityFile before `%` expansion: the path, quoted as one word, with `%%`.
    #expect(lines.contains("identityfile " + key.replacingOccurrences(of: "%", with: "%%")), "\(result.stdout)")
  }
}
