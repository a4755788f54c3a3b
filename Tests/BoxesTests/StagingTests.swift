import Foundation
import Support
import Testing

@testable import Boxes

/// Staging folders (`.libvirt.partial-PID`) of killed installs are removed by
/// the next install, list or removal of that box name; a live process's are not.
struct StagingTests {
  let root = NSTemporaryDirectory() + "caravan-staging-\(UUID().uuidString)"
  var store: BoxStore { BoxStore(root: root + "/boxes") }

  /// The PID of a process that has exited (and been reaped).
  static func deadPID() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }

  /// A staging folder under `NAME/VERSION/` with a file in it, as an unpacking install leaves it.
  func plant(name: String, version: String, pid: pid_t) throws -> String {
    let path = "\(store.root)/\(BoxStore.escape(name))/\(version)/.libvirt.partial-\(pid)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try Data(count: 4096).write(to: URL(fileURLWithPath: path + "/box.img"))
    return path
  }

  @discardableResult
  func install(_ name: String, _ version: String) throws -> InstalledBox {
    try store.install(name: name, version: version, force: false, source: "test") { staging in
      try Data(#"{"provider":"libvirt","format":"qcow2"}"#.utf8).write(
        to: URL(fileURLWithPath: staging + "/metadata.json"))
      try Data(count: 512).write(to: URL(fileURLWithPath: staging + "/box.img"))
    }
  }

  @Test func installRemovesDeadStagingAndKeepsALiveOne() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dead = try StagingTests.deadPID()
    #expect(kill(dead, 0) != 0 && errno == ESRCH)
    let deadSame = try plant(name: "t/box", version: "1.0", pid: dead)
    let deadOther = try plant(name: "t/box", version: "0.9", pid: dead)
    // Our own PID, in another version than the one installed (the install would reuse its own folder).
    let live = try plant(name: "t/box", version: "0.8", pid: getpid())
    let otherName = try plant(name: "t/other", version: "1.0", pid: dead)

    let box = try install("t/box", "1.0")
    #expect(FileSystem.exists(box.directory + "/metadata.json"))
    #expect(!FileSystem.exists(deadSame))
    #expect(!FileSystem.exists(deadOther))
    #expect(
      !FileSystem.exists((deadOther as NSString).deletingLastPathComponent),
      "a version folder that held only the dead staging goes too")
    #expect(FileSystem.exists(live), "a live process's staging is not touched")
    #expect(FileSystem.exists(otherName), "only the box name being installed is swept")
  }

  @Test func listAndRemoveSweepToo() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dead = try StagingTests.deadPID()
    let first = try plant(name: "t/listed", version: "2.0", pid: dead)
    #expect(try store.list().isEmpty)
    #expect(!FileSystem.exists(first))
    #expect(
      !FileSystem.exists(store.root + "/t-VAGRANTSLASH-listed"), "a name folder left empty by a killed first add goes")

    let box = try install("t/kept", "1.0")
    let stale = try plant(name: "t/kept", version: "1.0", pid: dead)
    let live = try plant(name: "t/kept", version: "1.0", pid: getpid())
    try store.remove(box)
    #expect(!FileSystem.exists(stale))
    #expect(!FileSystem.exists(box.directory))
    #expect(FileSystem.exists(live), "an install still running keeps its staging, and its version folder")
  }

  @Test func nothingIsSweptWhileAnInstallOfTheNameHoldsItsLock() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dead = try StagingTests.deadPID()
    let stale = try plant(name: "t/busy", version: "1.0", pid: dead)
    let lock = try FileLock(path: store.installLockPath(name: "t/busy"))
    _ = try store.list()
    #expect(FileSystem.exists(stale))
    lock.unlock()
    _ = try store.list()
    #expect(!FileSystem.exists(stale))
  }
}
