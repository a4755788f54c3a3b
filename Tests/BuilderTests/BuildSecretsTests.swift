import Core
import Foundation
import Spec
import Support
import Testing

@testable import Builder

/// A guest that is this host: each command runs in /bin/sh, as sshd would run it, with
/// a `sudo` stand-in on PATH; every command line is recorded.
final class LocalGuest: Communicator {
  let environment: [String: String]
  var commands: [String] = []

  init(environment: [String: String]) { self.environment = environment }

  func probe() -> (ready: Bool, detail: String) { (true, "") }
  func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    try execute(command, input: nil, output: output)
  }
  func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    commands.append(command)
    return try Subprocess(["/bin/sh", "-c", command], environment: environment, input: input ?? Data())
      .runStreamingLines(output)
  }
  func upload(_ data: Data, to remotePath: String) throws { try data.write(to: URL(fileURLWithPath: remotePath)) }
  func upload(file: String, to remotePath: String) throws {
    try FileManager.default.copyItem(atPath: file, toPath: remotePath)
  }
  func replaceKey(withPrivateKeyAt path: String) throws {}
  func close() {}
}

/// The build's password reaches sudo through a pipe, never through a command line: the
/// commands sent over SSH do not hold it, sudo reads it on its standard input, and a
/// postinstall step's own standard input does not hold it either.
struct SSHTargetTests {
  static let password = #"s3cret 'pw' $HOME `id` "q" %s"#

  @Test func thePasswordIsInNoCommandLine() throws {
    let root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-sudo")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sudo = root + "/bin/sudo"
    try FileSystem.makeDirectory(root + "/bin")
    // Takes `-S -p ''`, reads the password from standard input, records it, runs the rest.
    try FileSystem.writeAtomically(
      Data(
        """
        #!/bin/sh
        [ "$1" = -S ] || { echo "sudo: no -S: $*" >&2; exit 9; }
        shift 3
        IFS= read -r pw
        printf '%s\\n' "$pw" >> "$SUDO_LOG"
        exec "$@"
        """.utf8), to: sudo, mode: 0o755)
    let log = root + "/sudo.log"
    let guest = LocalGuest(environment: ["PATH": root + "/bin:/usr/bin:/bin", "SUDO_LOG": log])
    var spec = BuildSpec(
      file: root + "/Boxfile", directory: root, name: "b", version: "1", strategy: .installer,
      output: .init(path: root + "/out.box"))
    spec.ssh.password = SSHTargetTests.password
    let target = SSHTarget(communicator: guest, spec: spec)

    var lines: [String] = []
    let status = try target.runScript(
      "if IFS= read -r x; then echo \"stdin: $x\"; else echo no-stdin; fi; echo \"$GREETING\"",
      arguments: [], environment: ["GREETING": "hello"]
    ) { lines.append($0) }
    #expect(status == 0 && lines == ["no-stdin", "hello"], "\(lines)")
    try Data("payload\n".utf8).write(to: URL(fileURLWithPath: root + "/file"))
    try target.copy(root + "/file", to: root + "/placed/deeper/file")
    #expect(FileManager.default.contents(atPath: root + "/placed/deeper/file") == Data("payload\n".utf8))
    // (powerOff is not run here: its sudo stand-in would run this host's poweroff.)
    #expect(target.rooted("x").command.hasPrefix("IFS= read -r caravan_pw || exit 125; "))
    #expect(guest.commands.count == 2, "\(guest.commands)")
    #expect(!guest.commands.contains { $0.contains("s3cret") }, "\(guest.commands)")
    let heard = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(heard.count == 3 && heard.allSatisfy { $0 == SSHTargetTests.password }, "\(heard)")
  }

  @Test func withoutAPasswordSudoIsNonInteractiveAndNothingIsSent() {
    let spec = BuildSpec(
      file: "/b/Boxfile", directory: "/b", name: "b", version: "1", strategy: .installer, output: .init(path: "/o"))
    let target = SSHTarget(communicator: LocalGuest(environment: [:]), spec: spec)
    #expect(target.asRoot == "sudo -n ")
    let remote = target.rooted("true", input: Data("x".utf8))
    #expect(remote.command == "true" && remote.input == Data("x".utf8))
  }
}

/// The rendered templates hold the build's password: 0600 files in 0700 folders.
struct RenderedTemplateModeTests {
  @Test func renderedTemplatesAreTheOwnersOnly() throws {
    let folder = try TemporaryFolder()
    try folder.write("preseed.cfg", "d-i passwd/user-password password {{ password }}\n")
    try folder.write("ks.cfg", "rootpw {{ password }}\n")
    let work = try folder.folder("work")
    chmod(work, 0o755)
    var spec = BuildSpec(
      file: folder.path + "/Boxfile", directory: folder.path, name: "b", version: "1", strategy: .installer,
      output: .init(path: folder.path + "/out.box"))
    spec.templates = [
      .init(path: folder.path + "/preseed.cfg", name: "preseed.cfg"),
      .init(path: folder.path + "/ks.cfg", name: "sub/ks.cfg"),
    ]
    spec.ssh.password = "s3cret"
    let build = BoxBuild(
      spec: spec,
      options: BuildOptions(cacheDirectory: folder.path + "/cache", uri: "test:///default", lockDirectory: folder.path))
    let served = try BoxBuild.makeServedFolder(in: work)
    try build.renderTemplates(into: served, port: 8080)
    let mode = { (path: String) in
      (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map { String($0, radix: 8) }
    }
    #expect(try mode(served) == "700" && mode(served + "/sub") == "700")
    #expect(try mode(served + "/preseed.cfg") == "600" && mode(served + "/sub/ks.cfg") == "600")
    #expect(
      FileManager.default.contents(atPath: served + "/preseed.cfg")
        == Data("d-i passwd/user-password password s3cret\n".utf8))
  }
}
