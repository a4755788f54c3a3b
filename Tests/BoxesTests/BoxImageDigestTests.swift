import Foundation
import Support
import TestSupport
import Testing

@testable import Boxes

/// The image digest that names a box's pool volumes: recorded at `box add`,
/// computed once for a box an older Caravan added, new for a replaced image.
struct BoxImageDigestTests {
  let root = NSTemporaryDirectory() + "caravan-digest-\(UUID().uuidString)"
  var store: BoxStore { BoxStore(root: root + "/boxes") }

  func install(_ image: Data, force: Bool = false) throws -> InstalledBox {
    try store.install(name: "t/d", version: "1.0", force: force, source: "test") { staging in
      try Data(#"{"provider":"libvirt","format":"qcow2"}"#.utf8).write(
        to: URL(fileURLWithPath: staging + "/metadata.json"))
      try image.write(to: URL(fileURLWithPath: staging + "/box.img"))
    }
  }

  @Test func addRecordsTheImageSha256AndNamesTheVolumeByIt() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let box = try install(Data("one".utf8))
    // sha256("one"), as `sha256sum` prints it.
    let sha = "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
    let record = try String(contentsOfFile: box.directory + "/caravan-images.sha256", encoding: .utf8)
    #expect(record == "\(sha)  box.img\n")
    #expect(box.digest == String(sha.prefix(12)))
    #expect(box.volumeName == box.versionVolumePrefix + "_\(sha.prefix(12)).img")
    #expect(try store.list() == [box], "read back from the record")
  }

  @Test func aReplacedImageGetsAnotherVolumeOfTheSameVersion() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let before = try install(Data("one".utf8))
    let same = try install(Data("one".utf8), force: true)
    #expect(same.volumeName == before.volumeName, "the same image keeps its volume")
    let after = try install(Data("two".utf8), force: true)
    #expect(after.volumeName != before.volumeName)
    #expect(after.ownsVolume(before.volumeName) && after.ownsVolume(before.volumeName + ".complete"))
    #expect(after.ownsVolume(before.versionVolumePrefix + ".img"), "a volume an older Caravan named")
    #expect(!after.ownsVolume(before.versionVolumePrefix + "x.img"))
    #expect(!after.ownsVolume("caravan-box_t-VAGRANTSLASH-d_1.0.1_x.img"))
  }

  @Test func aBoxAnOlderCaravanAddedGetsItsDigestOnce() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let box = try install(Data("one".utf8))
    let record = box.directory + "/caravan-images.sha256"
    try FileManager.default.removeItem(atPath: record)
    #expect(try store.list().first?.digest == box.digest, "computed from the image")
    #expect(FileManager.default.fileExists(atPath: record), "and recorded, so the next command does not hash it")
  }

  @Test func anUpThatChoseTheVersionBeforeItWasReplacedIsStopped() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let chosen = try install(Data("one".utf8))
    _ = try install(Data("two".utf8), force: true)
    let error = try #require(throws: CaravanError.self) { try store.useLock(for: chosen) }
    #expect(
      error.message
        == "box 't/d' (1.0) was replaced by another caravan process (`box add --force`) while this one chose it")
  }
}
