import Core
import Foundation
import Spec
import Support
import Synchronization
import Testing

@testable import Provisioning

/// Where a shell provisioner's script comes from.
struct ShellProvisionerTests {

  func provisioner(_ shell: ShellProvisioner, name: String = "hello world") -> ProvisionerSpec {
    ProvisionerSpec(name: name, kind: .shell(shell), location: SourceLocation(line: 3, column: 1))
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

  func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32 {
    try execute(command, output: output)
  }

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
  private let lines = Mutex<[String]>([])
  var details: [String] { lines.withLock { $0 } }
  func step(_ machine: String, _ message: String) {}
  func detail(_ machine: String, _ line: String) { lines.withLock { $0.append("\(machine): \(line)") } }
  func progress(_ machine: String, _ message: String) {}
  func warning(_ message: String) {}
}
