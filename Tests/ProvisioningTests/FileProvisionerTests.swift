import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// The file provisioner's tar and its guest command, run here by /bin/sh as the guest
/// would run them: names and destinations are data, folders follow `scp -r`, modes stay.
struct FileProvisionerTests {
  static let hostile = ["a b", "$(touch pwned)", "; rm -rf x", "new\nline", "*", "ünï", "`id`", "'q\"", "-n"]

  let root: String

  init() throws {
    root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-file-test")
  }

  func place(_ source: String, to destination: String, isDirectory: Bool) throws -> Subprocess.Result {
    let archive = try GuestProvisioner.archive(source, isDirectory: isDirectory)
    let staged = root + "/staged.tar"
    try archive.write(to: URL(fileURLWithPath: staged))
    let command = GuestProvisioner.placeCommand(
      staged: staged, destination: destination, isDirectory: isDirectory, name: (source as NSString).lastPathComponent)
    return try Subprocess(["/bin/sh", "-c", command], environment: ["PATH": "/usr/bin:/bin", "HOME": root + "/home"])
      .run()
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

  @Test(arguments: hostile)
  func aFolderWithHostileNamesArrivesExactlyWithItsModes(name: String) throws {
    defer { cleanUp() }
    let source = root + "/src " + name
    try FileManager.default.createDirectory(atPath: source + "/sub " + name, withIntermediateDirectories: true)
    try Data("one\n".utf8).write(to: URL(fileURLWithPath: source + "/" + name))
    try Data("two\n".utf8).write(to: URL(fileURLWithPath: source + "/sub " + name + "/run"))
    chmod(source + "/sub " + name + "/run", 0o751)
    let destination = root + "/guest/dest " + name
    let result = try place(source, to: destination, isDirectory: true)
    #expect(result.status == 0, "\(result)")
    #expect(FileManager.default.contents(atPath: destination + "/" + name) == Data("one\n".utf8))
    let attributes = try FileManager.default.attributesOfItem(atPath: destination + "/sub " + name + "/run")
    #expect((attributes[.posixPermissions] as? Int) == 0o751)
    #expect(!FileSystem.exists(root + "/pwned") && !FileSystem.exists("pwned"))
    // Again, now that the destination exists: the folder goes in by its name, as scp -r does.
    let again = try place(source, to: destination, isDirectory: true)
    #expect(again.status == 0, "\(again)")
    #expect(FileSystem.exists(destination + "/src " + name + "/" + name))
  }

  @Test(arguments: hostile)
  func aFileGoesToTheDestinationOrIntoAFolder(name: String) throws {
    defer { cleanUp() }
    let source = root + "/" + name
    try Data("payload\n".utf8).write(to: URL(fileURLWithPath: source))
    chmod(source, 0o640)
    chown(source, 1234, 1234)  // a host user id: it means nothing in the guest
    let destination = root + "/guest/etc " + name + "/conf"
    #expect(try place(source, to: destination, isDirectory: false).status == 0)
    #expect(FileManager.default.contents(atPath: destination) == Data("payload\n".utf8))
    let attributes = try FileManager.default.attributesOfItem(atPath: destination)
    #expect(attributes[.posixPermissions] as? Int == 0o640)
    #expect(attributes[.ownerAccountID] as? Int == Int(getuid()), "owned by whoever unpacked it")
    // An existing folder (a trailing slash changes nothing): the file keeps its name in it.
    #expect(try place(source, to: root + "/guest/", isDirectory: false).status == 0)
    #expect(FileManager.default.contents(atPath: root + "/guest/" + name) == Data("payload\n".utf8))
    // Nothing is left beside the copies.
    let left = try FileManager.default.contentsOfDirectory(atPath: root + "/guest").filter { $0.hasPrefix(".caravan") }
    #expect(left.isEmpty)
  }

  @Test func aTildeMeansTheLoginUsersHome() throws {
    defer { cleanUp() }
    try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/gitconfig"))
    #expect(try place(root + "/gitconfig", to: "~/.gitconfig", isDirectory: false).status == 0)
    #expect(FileManager.default.contents(atPath: root + "/home/.gitconfig") == Data("x".utf8))
  }

  @Test func aMissingSourceIsNamed() throws {
    defer { cleanUp() }
    let machine = MachineSpec(name: "web")
    let provisioner = ProvisionerSpec(
      name: "conf", kind: .file(source: "nope.conf", destination: "/etc/x"),
      location: SourceLocation(line: 2, column: 1))
    let guest = RecordingGuest(mktemp: [])
    #expect {
      try GuestProvisioner().run(
        provisioner, machine: machine, projectRoot: root, on: guest, reporter: RecordingReporter())
    } throws: { error in
      (error as? CaravanError)?.message
        == "file provisioner 'conf' of machine 'web': source 'nope.conf' not found (looked at \(root)/nope.conf)"
    }
    #expect(guest.steps.isEmpty)
  }
}
