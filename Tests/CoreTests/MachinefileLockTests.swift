import Boxes
import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// `Machinefile.lock` against the fake hypervisor, with real `.box` files and a
/// catalog on disk: the first `up` writes it, later ones boot what it names even
/// when the catalog publishes a newer version, `--locked` refuses a missing lock or
/// a changed image naming both digests, and `lock --update` moves it forward.
struct MachinefileLockTests {
  /// A folder with a catalog of `test/box` whose versions are `.box` files beside it.
  final class Catalog {
    let folder = NSTemporaryDirectory() + "caravan-lock-\(UUID().uuidString)"
    var path: String { folder + "/catalog.json" }
    var versions: [String] = []

    init() throws { try FileSystem.makeDirectory(folder) }

    /// Publishes `version`, a box whose image holds `content`.
    func publish(_ version: String, content: String) throws {
      let box = try MachinefileLockTests.makeBox(in: folder, named: "box-\(version).box", content: content)
      _ = box
      versions.append(version)
      let entries = versions.map { version in
        """
        {"version": "\(version)", "providers": [{"name": "libvirt", "url": "box-\(version).box"}]}
        """
      }
      let json = #"{"name": "test/box", "versions": ["# + entries.joined(separator: ", ") + "]}"
      try FileSystem.writeAtomically(Data(json.utf8), to: path)
    }

    func remove() { try? FileSystem.removeTree(folder) }
  }

  /// A `.box` (a tar of metadata.json and box.img) whose image is `content`.
  static func makeBox(in folder: String, named name: String, content: String) throws -> String {
    let staging = folder + "/staging-\(name)"
    try FileSystem.makeDirectory(staging)
    defer { try? FileSystem.removeTree(staging) }
    try FileSystem.writeAtomically(
      Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8), to: staging + "/metadata.json")
    try FileSystem.writeAtomically(Data(content.utf8), to: staging + "/box.img")
    let path = folder + "/" + name
    let tar = try Subprocess(["tar", "-cf", path, "-C", staging, "metadata.json", "box.img"]).run()
    try #require(tar.status == 0, "\(tar.stderr)")
    return path
  }

  static func sha256(_ text: String) -> String {
    var digest = StreamingDigest(.sha256)
    digest.update(Data(text.utf8))
    return digest.finalizeHex()
  }

  func lockText(_ f: Fixture) -> String {
    (try? String(contentsOfFile: f.lifecycle.lockPath, encoding: .utf8)) ?? ""
  }

  @Test func theFirstUpWritesTheLockAndLaterUpsBootWhatItNames() throws {
    let catalog = try Catalog()
    defer { catalog.remove() }
    try catalog.publish("1.0", content: "image one")
    let f = try Fixture("box \"test/box\", url: \"\(catalog.path)\"\n", installBox: false)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let (lock, problems) = LockFile.parse(lockText(f), file: "Machinefile.lock")
    #expect(problems.isEmpty)
    let entry = try #require(lock?.boxes.first)
    #expect(entry.name == "test/box" && entry.version == "1.0" && entry.provider == "libvirt")
    #expect(entry.source == LockedSource(kind: .catalog, location: catalog.path))
    #expect(entry.disks == ["box.img": MachinefileLockTests.sha256("image one")])
    let boxFile = try Data(contentsOf: URL(fileURLWithPath: catalog.folder + "/box-1.0.box"))
    var digest = StreamingDigest(.sha256)
    digest.update(boxFile)
    #expect(entry.sha256 == digest.finalizeHex(), "the digest of the .box as read")
    #expect(f.reporter.lines.contains { $0.contains("wrote Machinefile.lock") })
    let written = lockText(f)

    // The catalog publishes 1.1, and it is installed: a new machine still gets 1.0.
    try catalog.publish("1.1", content: "image two")
    _ = try BoxInstaller(store: f.lifecycle.boxes).add(BoxInstaller.Request(source: catalog.path, version: "1.1"))
    try f.lifecycle.destroy(f.project.spec.machines)
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(f.hypervisor.plans.last?.box.version == "1.0", "the locked version, not the newest")
    #expect(lockText(f) == written, "the lock is unchanged")

    // lock --update moves it to 1.1 and says so; `up --locked` of a new machine then boots 1.1.
    let changes = try f.lifecycle.lock(f.project.spec.machines, update: [])
    #expect(changes == ["box 'test/box': 1.0 -> 1.1"], "\(changes)")
    #expect(LockFile.parse(lockText(f), file: "x").0?.boxes.map(\.version) == ["1.1"])
    try f.lifecycle.destroy(f.project.spec.machines)
    try f.lifecycle.up(f.project.spec.machines, options: UpOptions(provision: false, locked: true))
    #expect(f.hypervisor.plans.last?.box.version == "1.1")
  }

  @Test func lockedRefusesAMissingLockAndAChangedImageNamingBothDigests() throws {
    let catalog = try Catalog()
    defer { catalog.remove() }
    try catalog.publish("1.0", content: "image one")
    let f = try Fixture("box \"test/box\", url: \"\(catalog.path)\"\n", installBox: false)
    defer { f.cleanUp() }
    let locked = UpOptions(provision: false, locked: true)
    let missing = try #require(throws: MachinefileError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: locked)
    }
    #expect(missing.description.contains("has no Machinefile.lock beside it; run `caravan lock`"), "\(missing)")
    #expect(f.hypervisor.plans.isEmpty, "nothing was made")

    #expect(try f.lifecycle.lock(f.project.spec.machines) == ["box 'test/box' 1.0 (catalog \(catalog.path)) added"])
    // The installed 1.0 is replaced by another image (a box add --force of another file).
    let other = try MachinefileLockTests.makeBox(in: catalog.folder, named: "other.box", content: "image changed")
    _ = try BoxInstaller(store: f.lifecycle.boxes).add(
      BoxInstaller.Request(source: other, name: "test/box", version: "1.0", force: true))
    let changed = try #require(throws: MachinefileError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: locked)
    }
    let text = changed.description
    #expect(text.contains("machine 'default': box 'test/box' (1.0) differs from Machinefile.lock"), "\(text)")
    #expect(
      text.contains(MachinefileLockTests.sha256("image changed"))
        && text.contains(MachinefileLockTests.sha256("image one")),
      "both digests: \(text)")
    #expect(f.hypervisor.plans.isEmpty, "nothing was made")
    // Without --locked, `up` says so, uses the installed box and writes its digests into the lock.
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(
      f.reporter.lines.contains {
        $0.contains("differs from Machinefile.lock") && $0.contains("Using the installed box")
      })
    let relocked = try #require(LockFile.parse(lockText(f), file: "x").0?.boxes.first)
    #expect(relocked.disks["box.img"] == MachinefileLockTests.sha256("image changed"))
  }

  @Test func lockedRefusesABoxTheLockDoesNotName() throws {
    let f = try Fixture("machine \"a\" { box \"caravan/debian-12\" }\n")
    defer { f.cleanUp() }
    try FileSystem.writeAtomically(
      Data("{\"boxes\": [], \"version\": 1}\n".utf8), to: f.lifecycle.lockPath)
    let error = try #require(throws: MachinefileError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: UpOptions(provision: false, locked: true))
    }
    #expect(
      error.description.contains("`--locked`: machine 'a': box 'caravan/debian-12' is not in Machinefile.lock"),
      "\(error)")
  }
}
