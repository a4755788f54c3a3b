import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// A shell provisioner's one guest command (write the script, run it, remove it), run
/// here by /bin/sh as the guest's login shell would run it, with a `sudo` that checks
/// its options: the script file is new, private and gone afterwards, also on failure.
/// One test at a time: each looks for leftovers of the same name in /tmp, where
/// another test's script may still be running.
@Suite(.serialized)
struct StagedRunTests {
  let folder: TemporaryFolder
  let guest: LocalGuest

  init() throws {
    folder = try TemporaryFolder()
    _ = try folder.script("sudo", #"[ "$1" = -n ] && [ "$2" = -H ] || exit 99; shift 2; exec "$@""#)
    guest = LocalGuest(path: folder.path)
  }

  func provisioner(_ shell: ShellProvisioner, name: String = "hello world") -> ProvisionerSpec {
    ProvisionerSpec(name: name, kind: .shell(shell), location: SourceLocation(line: 3, column: 1))
  }

  func leftovers() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("caravan-shell-hello-world.") }
  }

  @Test func theScriptRunsFromANewPrivateFileInOneCommandAndIsRemoved() throws {
    let reporter = RecordingReporter()
    try GuestProvisioner().run(
      provisioner(ShellProvisioner(inline: #"echo "$0 $(stat -c %a "$0") $*""#)), machine: MachineSpec(name: "web"),
      projectRoot: "/p", on: guest, reporter: reporter)
    #expect(guest.commands.count == 1)
    let line = try #require(reporter.details.first)
    let fields = line.split(separator: " ")
    let path = String(fields[1])
    #expect(
      path.hasPrefix("/tmp/caravan-shell-hello-world.") && path.count == "/tmp/caravan-shell-hello-world.".count + 10)
    #expect(fields[2] == "711", "written 0600, then chmod +x: nobody else may read it: \(line)")
    #expect(!FileSystem.exists(path))
  }

  @Test func aFailingScriptNamesItsLastLinesAndIsRemovedToo() throws {
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(ShellProvisioner(inline: "echo one; echo two >&2; exit 3")), machine: MachineSpec(name: "web"),
        projectRoot: "/p", on: guest, reporter: RecordingReporter())
    }
    #expect(error?.message == "provisioner 'hello world' of machine 'web' failed with exit status 3")
    #expect(error?.hint == "Its last lines:\n  one\n  two\nFix the script and run `caravan provision web`.")
    #expect(try leftovers().isEmpty)
  }

  /// A `sync` (here one that writes down when it ran) ends the provisioner's one guest
  /// command, after the script, on success and on failure, and the script's status is kept.
  @Test func theScriptsWritesAreSyncedInTheSameRoundTrip() throws {
    let log = folder.path + "/order.log"
    _ = try folder.script("sync", "echo sync >> '\(log)'")
    for (inline, status) in [("echo script >> '\(log)'", 0), ("echo script >> '\(log)'; exit 3", 3)] {
      try? FileManager.default.removeItem(atPath: log)
      guest.commands.removeAll()
      let run = {
        try GuestProvisioner().run(
          provisioner(ShellProvisioner(inline: inline)), machine: MachineSpec(name: "web"), projectRoot: "/p",
          on: guest, reporter: RecordingReporter())
      }
      if status == 0 {
        try run()
      } else {
        let error = #expect(throws: CaravanError.self) { try run() }
        #expect(error?.message.hasSuffix("failed with exit status 3") == true, "\(String(describing: error))")
      }
      #expect(guest.commands.count == 1, "one round trip: \(guest.commands)")
      #expect(try String(contentsOfFile: log, encoding: .utf8) == "script\nsync\n")
    }
  }

  /// The file provisioner's copy is synced in its one guest command too.
  @Test func aCopiedFileIsSyncedInTheSameRoundTrip() throws {
    let log = folder.path + "/order.log"
    _ = try folder.script("sync", "[ -f '\(folder.path)/guest/copied.txt' ] && echo synced-after-copy >> '\(log)'")
    try Data("payload".utf8).write(to: URL(fileURLWithPath: folder.path + "/copied.txt"))
    let spec = ProvisionerSpec(
      name: "copy", kind: .file(source: "copied.txt", destination: folder.path + "/guest/copied.txt"),
      location: SourceLocation(line: 4, column: 1))
    try GuestProvisioner().run(
      spec, machine: MachineSpec(name: "web"), projectRoot: folder.path, on: guest, reporter: RecordingReporter())
    #expect(guest.commands.count == 1, "one round trip: \(guest.commands)")
    #expect(try String(contentsOfFile: log, encoding: .utf8) == "synced-after-copy\n")
  }

  @Test func somethingAlreadyAtTheNewPathIsNeverUsedNorRemoved() throws {
    for planted in ["file", "link"] {
      let path = folder.path + "/planted-" + planted
      if planted == "file" {
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: path))
      } else {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: folder.path + "/target")
      }
      var output: [String] = []
      let status = try guest.execute(
        GuestProvisioner.staged(at: path, exclusive: true, then: "echo ran"), input: Data("script".utf8)
      ) { _, line in output.append(line) }
      #expect(status == GuestProvisioner.stagingFailed)
      #expect(!output.contains("ran") && output.last == "caravan: cannot write '\(path)' in the guest", "\(output)")
      #expect(FileManager.default.fileExists(atPath: path) || planted == "link")
      #expect(!FileSystem.exists(folder.path + "/target"))
    }
    #expect(FileManager.default.contents(atPath: folder.path + "/planted-file") == Data("theirs".utf8))
  }

  @Test func anUploadPathIsOverwrittenUsedAndRemoved() throws {
    var shell = ShellProvisioner(inline: "echo from upload path")
    shell.uploadPath = folder.path + "/setup it's.sh"
    shell.privileged = false
    try Data("old".utf8).write(to: URL(fileURLWithPath: shell.uploadPath!))
    let reporter = RecordingReporter()
    try GuestProvisioner().run(
      provisioner(shell), machine: MachineSpec(name: "web"), projectRoot: "/p", on: guest, reporter: reporter)
    #expect(reporter.details == ["web: from upload path"])
    #expect(!FileSystem.exists(shell.uploadPath!))
  }

  @Test func anUploadPathThatCannotBeWrittenIsNamed() throws {
    var shell = ShellProvisioner(inline: "echo never")
    shell.uploadPath = folder.path + "/missing folder/setup.sh"
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(shell), machine: MachineSpec(name: "web"), projectRoot: "/p", on: guest,
        reporter: RecordingReporter())
    }
    #expect(
      error?.message == "provisioner 'hello world' of machine 'web': cannot write '\(shell.uploadPath!)' in the guest")
    #expect(error?.hint == "Check upload_path: the login user must be able to write it.")
  }
}

/// Runs guest commands here with /bin/sh, `path` first on PATH.
final class LocalGuest: Communicator {
  let path: String
  var commands: [String] = []
  init(path: String) { self.path = path }

  func probe() -> (ready: Bool, detail: String) { (true, "") }
  func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    try execute(command, input: nil, output: output)
  }
  func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    commands.append(command)
    return try Subprocess(
      ["/bin/sh", "-c", command], environment: ["PATH": path + ":/usr/bin:/bin", "HOME": path], input: input
    ).runStreamingLines(output)
  }
  func upload(_ data: Data, to remotePath: String) throws { Issue.record("no separate upload") }
  func upload(file: String, to remotePath: String) throws { Issue.record("no separate upload") }
  func replaceKey(withPrivateKeyAt path: String) throws {}
  func close() {}
}
