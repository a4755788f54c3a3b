import Boxes
import Foundation
import Support
import TestSupport
import Testing

/// Writing a box archive: what `caravan build` and `caravan package` end with.
struct BoxPackagerTests {
  @Test func theArchiveHoldsTheDiskAndItsDigestIsTheFilesOwn() async throws {
    try await onThread { try Self.archive() }
  }

  /// `Subprocess` (tar) must not be waited for on the concurrency pool.
  static func archive() throws {
    let folder = try FileSystem.makeTemporaryDirectory(prefix: "caravan-packager")
    defer { try? FileSystem.removeTree(folder) }
    let disk = folder + "/disk.qcow2"
    // Sparse: a hole between two written regions, as a disk image has.
    FileManager.default.createFile(atPath: disk, contents: Data("QFI\u{fb}start".utf8))
    let handle = try #require(FileHandle(forWritingAtPath: disk))
    try handle.seek(toOffset: 8 << 20)
    try handle.write(contentsOf: Data(repeating: 0x5a, count: 300_000))
    try handle.close()
    let output = folder + "/out/web.box"
    let written = try BoxPackager.write(
      disk: disk, virtualBytes: 3 << 30, format: .v1, boxName: "myorg/web", to: output, madeBy: "a test")
    #expect(written.path == output)
    #expect(written.sha256 == (try StreamingDigest.hex(ofFile: output, .sha256)), "hashed as it was written")
    #expect(written.bytes == (try FileManager.default.attributesOfItem(atPath: output)[.size] as? UInt64))
    #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
    let listing = try Subprocess(["tar", "-tf", output]).run().stdout.split(separator: "\n").sorted()
    #expect(listing == ["Vagrantfile", "box.img", "metadata.json"])
    let metadata = try Subprocess(["tar", "-xOf", output, "metadata.json"]).run().stdout
    #expect(metadata.contains("\"virtual_size\":3") && metadata.contains("\"format\":\"qcow2\""), "\(metadata)")
    let vagrantfile = try Subprocess(["tar", "-xOf", output, "Vagrantfile"]).run().stdout
    #expect(vagrantfile.contains("myorg/web: made by a test"))
    let extracted = folder + "/x"
    try FileSystem.makeDirectory(extracted)
    #expect(try Subprocess(["tar", "-xf", output, "-C", extracted, "box.img"]).run().status == 0)
    #expect(
      try StreamingDigest.hex(ofFile: extracted + "/box.img", .sha256) == StreamingDigest.hex(ofFile: disk, .sha256))
  }

  @Test func aFailedArchiveLeavesNothing() async throws {
    try await onThread { try Self.failed() }
  }

  static func failed() throws {
    let folder = try FileSystem.makeTemporaryDirectory(prefix: "caravan-packager")
    defer { try? FileSystem.removeTree(folder) }
    let output = folder + "/web.box"
    #expect(throws: (any Error).self) {
      try BoxPackager.write(
        disk: folder + "/missing.qcow2", virtualBytes: 1 << 30, format: .v1, boxName: "web", to: output)
    }
    #expect(!FileManager.default.fileExists(atPath: output))
    #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
  }
}
