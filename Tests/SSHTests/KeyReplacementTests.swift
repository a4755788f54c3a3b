import Foundation
import Support
import TestSupport
import Testing

@testable import SSH

/// The guest commands of `replaceKey`, run here with /bin/sh against a temporary HOME.
struct KeyReplacementTests {
  static let newKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOj3Ik1zX3Dd7fN+Zz6TzmCkJwqyZNoNn4Yr1W0Ym7Ex caravan web"
  static let ownKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDf0wn user@laptop"
  static let insecureLines = [
    "ssh-rsa \(InsecureKeys.publicKeyBodies[0]) vagrant insecure public key",
    "ssh-ed25519 \(InsecureKeys.publicKeyBodies[1]) vagrant insecure public key",
  ]

  @Test func addingMakesTheFolderAndFileWithTheirModes() async throws {
    let home = try TemporaryHome()
    #expect(try await home.run(OpenSSHCommunicator.addKeyCommand(publicKey: Self.newKey)) == 0)
    #expect(try home.authorizedKeys() == Self.newKey + "\n")
    #expect(try home.mode(".ssh") == 0o700)
    #expect(try home.mode(".ssh/authorized_keys") == 0o600)
  }

  @Test func addingTwiceAddsOnceAndKeepsWhatWasThere() async throws {
    let home = try TemporaryHome()
    // A last line without its newline, and modes sshd would refuse.
    try home.write(Self.insecureLines[1] + "\n" + Self.ownKey, mode: 0o644, folderMode: 0o755)
    for _ in 0..<2 {
      #expect(try await home.run(OpenSSHCommunicator.addKeyCommand(publicKey: Self.newKey)) == 0)
    }
    #expect(
      try home.authorizedKeys() == [Self.insecureLines[1], Self.ownKey, Self.newKey].joined(separator: "\n") + "\n")
    #expect(try home.mode(".ssh") == 0o700)
    #expect(try home.mode(".ssh/authorized_keys") == 0o600)
  }

  @Test func addingEndsWithSync() {
    #expect(OpenSSHCommunicator.addKeyCommand(publicKey: Self.newKey).hasSuffix(" && sync"))
  }

  @Test func removalDropsOnlyTheInsecureKeys() async throws {
    let home = try TemporaryHome()
    let lines = [Self.insecureLines[0], Self.ownKey, Self.insecureLines[1], "", "# a comment", Self.newKey]
    try home.write(lines.joined(separator: "\n") + "\n", mode: 0o600)
    #expect(try await home.run(OpenSSHCommunicator.removeInsecureKeysCommand(keeping: Self.newKey)) == 0)
    #expect(try home.authorizedKeys() == [Self.ownKey, "", "# a comment", Self.newKey].joined(separator: "\n") + "\n")
    #expect(try home.mode(".ssh/authorized_keys") == 0o600)
    #expect(!home.exists(".ssh/authorized_keys.caravan"))
  }

  /// Without the new key in what would be written, the file stays as it was.
  @Test func removalWithoutTheNewKeyLeavesTheFileUntouched() async throws {
    let home = try TemporaryHome()
    let before = Self.insecureLines.joined(separator: "\n") + "\n" + Self.ownKey + "\n"
    try home.write(before, mode: 0o600)
    #expect(try await home.run(OpenSSHCommunicator.removeInsecureKeysCommand(keeping: Self.newKey)) != 0)
    #expect(try home.authorizedKeys() == before)
    #expect(!home.exists(".ssh/authorized_keys.caravan"))

    // Only insecure keys: nothing would be left, so nothing changes either.
    let onlyInsecure = Self.insecureLines.joined(separator: "\n") + "\n"
    try home.write(onlyInsecure, mode: 0o600)
    #expect(try await home.run(OpenSSHCommunicator.removeInsecureKeysCommand(keeping: Self.newKey)) != 0)
    #expect(try home.authorizedKeys() == onlyInsecure)
  }

  @Test func removalWithoutAFileWritesNone() async throws {
    let home = try TemporaryHome()
    try FileManager.default.createDirectory(atPath: home.path + "/.ssh", withIntermediateDirectories: true)
    #expect(try await home.run(OpenSSHCommunicator.removeInsecureKeysCommand(keeping: Self.newKey)) != 0)
    #expect(!home.exists(".ssh/authorized_keys"))
    #expect(!home.exists(".ssh/authorized_keys.caravan"))
  }

  /// Write aside, check the key, sync, and only then move into place, each step after the last.
  @Test func removalChecksAndSyncsBeforeItReplaces() throws {
    let command = OpenSSHCommunicator.removeInsecureKeysCommand(keeping: Self.newKey)
    let steps = try #require(command.components(separatedBy: " || ").first).components(separatedBy: " && ")
    #expect(steps.count == 6)
    #expect(steps.first == "umask 077")
    #expect(
      steps[1].hasPrefix("grep -v -F ")
        && steps[1].hasSuffix(" ~/.ssh/authorized_keys > ~/.ssh/authorized_keys.caravan"))
    #expect(steps[2] == "grep -qxF -e \(shellQuote(Self.newKey)) ~/.ssh/authorized_keys.caravan")
    #expect(Array(steps[3...]) == ["sync", "mv -f ~/.ssh/authorized_keys.caravan ~/.ssh/authorized_keys", "sync"])
  }
}

/// A HOME folder of its own, removed at the end.
final class TemporaryHome {
  let path = NSTemporaryDirectory() + "caravan-home-\(UUID().uuidString)"

  init() throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Runs a guest command with /bin/sh, HOME set here.
  func run(_ command: String) async throws -> Int32 {
    let home = path
    let result = try await onThread {
      try Subprocess(["/bin/sh", "-c", command], environment: ["HOME": home, "PATH": "/usr/bin:/bin"]).run()
    }
    return result.status
  }

  func write(_ text: String, mode: Int, folderMode: Int = 0o700) throws {
    try FileManager.default.createDirectory(
      atPath: path + "/.ssh", withIntermediateDirectories: true, attributes: [.posixPermissions: folderMode])
    try FileManager.default.setAttributes([.posixPermissions: folderMode], ofItemAtPath: path + "/.ssh")
    try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/.ssh/authorized_keys"))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path + "/.ssh/authorized_keys")
  }

  func authorizedKeys() throws -> String {
    try String(contentsOfFile: path + "/.ssh/authorized_keys", encoding: .utf8)
  }

  func mode(_ relative: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + relative)
    return (attributes[.posixPermissions] as? Int ?? 0) & 0o777
  }

  func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }
}
