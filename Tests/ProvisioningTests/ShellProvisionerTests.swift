import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// A shell provisioner's steps in the guest, through a `Communicator` that records
/// them: a fresh mktemp file, the upload, the run, and the removal, also on failure.
struct ShellProvisionerTests {
  static let made = "/tmp/caravan-shell-hello-world.Ab3dE6gH9k"

  func provisioner(_ shell: ShellProvisioner, name: String = "hello world") -> ProvisionerSpec {
    ProvisionerSpec(name: name, kind: .shell(shell), location: SourceLocation(line: 3, column: 1))
  }

  @Test func theScriptGoesToAFreshFileThatIsRemovedAfter() throws {
    let guest = RecordingGuest(mktemp: ["Welcome to the box", Self.made])
    let reporter = RecordingReporter()
    try GuestProvisioner().run(
      provisioner(ShellProvisioner(inline: "echo hi")), machine: MachineSpec(name: "web"), projectRoot: "/p",
      on: guest, reporter: reporter)
    #expect(
      guest.steps == [
        "execute mktemp '/tmp/caravan-shell-hello-world.XXXXXXXXXX'",
        "upload \(Self.made)",
        "execute sudo -n -H sh -c 'chmod +x '\\''\(Self.made)'\\'' && '\\''\(Self.made)'\\'''",
        "execute rm -f '\(Self.made)'",
      ])
    #expect(guest.uploads[Self.made] == Data("echo hi".utf8))
    #expect(reporter.details == ["web: script output"])
  }

  @Test func aFailingScriptIsRemovedToo() throws {
    let guest = RecordingGuest(mktemp: [Self.made], scriptStatus: 3)
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(ShellProvisioner(inline: "exit 3")), machine: MachineSpec(name: "web"), projectRoot: "/p",
        on: guest, reporter: RecordingReporter())
    }
    #expect(error?.message == "provisioner 'hello world' of machine 'web' failed with exit status 3")
    #expect(error?.hint == "Its last lines:\n  script output\nFix the script and run `caravan provision web`.")
    #expect(guest.steps.last == "execute rm -f '\(Self.made)'")
  }

  @Test func aFailedUploadIsCleanedUpAndNothingRuns() throws {
    let guest = RecordingGuest(mktemp: [Self.made], uploadFails: true)
    #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(ShellProvisioner(inline: "echo hi")), machine: MachineSpec(name: "web"), projectRoot: "/p",
        on: guest, reporter: RecordingReporter())
    }
    #expect(guest.steps.count == 3)
    #expect(guest.steps.last == "execute rm -f '\(Self.made)'")
  }

  @Test func withoutAFileFromMktempNothingIsUploaded() throws {
    let guest = RecordingGuest(
      mktemp: ["mktemp: failed to create file via template: Read-only file system"], mktempStatus: 1)
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(ShellProvisioner(inline: "echo hi")), machine: MachineSpec(name: "web"), projectRoot: "/p",
        on: guest, reporter: RecordingReporter())
    }
    #expect(error?.message.contains("mktemp could not make a file for the script in the guest (exit status 1)") == true)
    #expect(error?.message.contains("Read-only file system") == true)
    #expect(guest.steps == ["execute mktemp '/tmp/caravan-shell-hello-world.XXXXXXXXXX'"])
  }

  @Test func anUploadPathIsUsedAsItIs() throws {
    let guest = RecordingGuest(mktemp: [])
    var shell = ShellProvisioner(inline: "echo hi")
    shell.uploadPath = "/home/vagrant/setup.sh"
    shell.privileged = false
    try GuestProvisioner().run(
      provisioner(shell), machine: MachineSpec(name: "web"), projectRoot: "/p", on: guest, reporter: RecordingReporter()
    )
    #expect(guest.steps.first == "upload /home/vagrant/setup.sh")
    #expect(guest.steps.last == "execute rm -f '/home/vagrant/setup.sh'")
  }

  @Test func aScriptPathIsFoundFromTheProjectRoot() throws {
    let folder = try TemporaryFolder()
    try FileSystem.makeDirectory(folder.path + "/scripts")
    try FileSystem.writeAtomically(Data("echo set up\n".utf8), to: folder.path + "/scripts/setup.sh")
    let provisioner = GuestProvisioner()
    #expect(
      try provisioner.script(ShellProvisioner(path: "scripts/setup.sh"), name: "s", projectRoot: folder.path)
        == Data("echo set up\n".utf8))
    #expect(
      try provisioner.script(ShellProvisioner(path: folder.path + "/scripts/setup.sh"), name: "s", projectRoot: "/")
        == Data("echo set up\n".utf8))

    let error = #expect(throws: CaravanError.self) {
      try provisioner.script(ShellProvisioner(path: "scripts/missing.sh"), name: "s", projectRoot: folder.path)
    }
    #expect(error?.kind == .notFound)
    #expect(
      error?.message
        == "shell provisioner 's': script 'scripts/missing.sh' not found (looked at \(folder.path)/scripts/missing.sh)")
    #expect(error?.hint == "Paths are relative to the folder of the Machinefile.")
  }
}

/// Records what a provisioner asks of the guest; answers mktemp with its lines, and a
/// command that starts with one of `answers`' prefixes with that answer's lines.
final class RecordingGuest: Communicator {
  var steps: [String] = []
  var uploads: [String: Data] = [:]
  let mktemp: [String]
  let mktempStatus: Int32
  let scriptStatus: Int32
  let uploadFails: Bool
  var answers: [(prefix: String, lines: [String])] = []
  /// What a host program (ansible-playbook) would connect to.
  var endpoint: SSHEndpoint?
  var sshEndpoint: SSHEndpoint? { endpoint }

  init(mktemp: [String], mktempStatus: Int32 = 0, scriptStatus: Int32 = 0, uploadFails: Bool = false) {
    self.mktemp = mktemp
    self.mktempStatus = mktempStatus
    self.scriptStatus = scriptStatus
    self.uploadFails = uploadFails
  }

  func probe() -> (ready: Bool, detail: String) { (true, "") }

  func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    steps.append("execute \(command)")
    if let answer = answers.first(where: { command.hasPrefix($0.prefix) }) {
      for line in answer.lines { output(.stdout, line) }
      return 0
    }
    if command.hasPrefix("mktemp ") {
      for line in mktemp { output(.stdout, line) }
      return mktempStatus
    }
    if command.hasPrefix("rm -f ") { return 0 }
    output(.stdout, "script output")
    return scriptStatus
  }

  func upload(_ data: Data, to remotePath: String) throws {
    steps.append("upload \(remotePath)")
    if uploadFails { throw CaravanError(.guest, "cannot write '\(remotePath)' in the guest") }
    uploads[remotePath] = data
  }

  func upload(file: String, to remotePath: String) throws {
    try upload(FileManager.default.contents(atPath: file) ?? Data(), to: remotePath)
  }

  func replaceKey(withPrivateKeyAt path: String) throws {}
  func close() {}
}

final class RecordingReporter: Reporter {
  var details: [String] = []
  func step(_ machine: String, _ message: String) {}
  func detail(_ machine: String, _ line: String) { details.append("\(machine): \(line)") }
  func progress(_ machine: String, _ message: String) {}
  func warning(_ message: String) {}
}
