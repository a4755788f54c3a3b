import Foundation
import Spec
import Support
import TestSupport
import Testing

@testable import Provisioning

/// The guest command of a shell provisioner, run here with /bin/sh as the guest's
/// login shell would run it: arguments and environment values must arrive as written.
struct ShellCommandTests {
  static let awkward = [
    "two words", "it's", #"say "hi""#, "$HOME", "${PATH}", "`id`", "$(id)", "line one\nline two", "", "*",
    #"back\slash"#,
    "-n", "; rm -rf x", "tab\there",
  ]

  @Test func argumentsArriveUnchanged() async throws {
    let folder = try TemporaryFolder()
    var shell = ShellProvisioner(inline: "unused")
    shell.privileged = false
    shell.args = Self.awkward
    let script = try folder.script("it's a \"script\"", #"printf '%s\0' "$#" "$@""#)
    let fields = try await folder.fields(of: GuestProvisioner.command(shell, remotePath: script))
    #expect(fields == ["\(Self.awkward.count)"] + Self.awkward)
  }

  @Test func environmentValuesArriveUnchanged() async throws {
    let folder = try TemporaryFolder()
    var shell = ShellProvisioner(inline: "unused")
    shell.privileged = false
    shell.env = Dictionary(
      uniqueKeysWithValues: Self.awkward.enumerated().map { ("CARAVAN_V\($0.offset)", $0.element) })
    let names = shell.env.keys.sorted()
    let script = try folder.script("env", "printf '%s\\0' " + names.map { "\"$\($0)\"" }.joined(separator: " "))
    let fields = try await folder.fields(of: GuestProvisioner.command(shell, remotePath: script))
    #expect(fields == names.map { shell.env[$0] ?? "" })
  }

  @Test func environmentNamesComeInOrder() {
    var shell = ShellProvisioner(inline: "unused")
    shell.env = ["ZONE": "z", "APP": "a", "MODE": "m"]
    #expect(
      GuestProvisioner.command(shell, remotePath: "/s").contains(#"env '\''APP=a'\'' '\''MODE=m'\'' '\''ZONE=z'\'' "#))
  }

  @Test func thePrivilegedFormIsTheSameCommandUnderSudo() async throws {
    var shell = ShellProvisioner(inline: "unused")
    shell.args = Self.awkward
    shell.env = ["CARAVAN_V": "it's $HOME"]
    shell.privileged = false
    let plain = GuestProvisioner.command(shell, remotePath: "/tmp/s")
    shell.privileged = true
    let privileged = GuestProvisioner.command(shell, remotePath: "/tmp/s")
    #expect(plain.hasPrefix("sh -c '"))
    #expect(privileged == "sudo -n -H " + plain)

    // Through a `sudo` that checks its options and runs the rest as it is.
    let folder = try TemporaryFolder()
    _ = try folder.script("sudo", #"[ "$1" = -n ] && [ "$2" = -H ] || exit 99; shift 2; exec "$@""#)
    let script = try folder.script("s", #"printf '%s\0' "$CARAVAN_V" "$@""#)
    let fields = try await folder.fields(of: GuestProvisioner.command(shell, remotePath: script), path: folder.path)
    #expect(fields == ["it's $HOME"] + Self.awkward)
  }

}

/// A folder of its own for scripts, removed at the end.
final class TemporaryFolder {
  let path = NSTemporaryDirectory() + "caravan provisioning \(UUID().uuidString)"

  init() throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes an executable shell script; returns its path.
  func script(_ name: String, _ body: String) throws -> String {
    let file = path + "/" + name
    try FileSystem.writeAtomically(Data("#!/bin/sh\n\(body)\n".utf8), to: file, mode: 0o755)
    return file
  }

  /// Runs `command` with /bin/sh and splits its output at NUL bytes.
  func fields(of command: String, path extra: String? = nil) async throws -> [String] {
    let environment = ["PATH": (extra.map { $0 + ":" } ?? "") + "/usr/bin:/bin", "HOME": path]
    let result = try await onThread { try Subprocess(["/bin/sh", "-c", command], environment: environment).run() }
    #expect(result.status == 0, "\(result.stderr)")
    var fields = result.stdout.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
    if fields.last == "" { fields.removeLast() }
    return fields
  }
}
