import Foundation
import Spec
import Support
import TestSupport
import Testing

@testable import Boxes

/// Cloud images installed as boxes: a qcow2 and a raw image made by the real
/// tools, served on 127.0.0.1 with a SHA512SUMS, through a test image index.
@Suite(.serialized)
struct ImageInstallTests {
  let root = NSTemporaryDirectory() + "caravan-images-\(UUID().uuidString)"
  var served: String { root + "/served" }
  var store: BoxStore { BoxStore(root: root + "/store") }
  var indexPath: String { root + "/index.json" }

  /// A 64 MiB qcow2 and a 4 MiB raw disk (MBR) with a few written bytes, and a
  /// SHA512SUMS listing them among another file; returns their sha512s.
  func makeImages() throws -> (qcow2: String, raw: String) {
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    try shell(
      """
      PATH=$PATH:/usr/sbin:/sbin
      qemu-img create -q -f qcow2 cloud.qcow2 64M
      truncate -s 4M cloud.raw
      printf 'label: dos\\n,,L\\n' | sfdisk -q cloud.raw
      printf 'caravan' | dd of=cloud.raw bs=1 seek=1048576 conv=notrunc status=none
      printf 'x' > other.txt
      sha512sum other.txt cloud.qcow2 cloud.raw > SHA512SUMS
      """, in: served)
    return (
      try StreamingDigest.hex(ofFile: served + "/cloud.qcow2", .sha512),
      try StreamingDigest.hex(ofFile: served + "/cloud.raw", .sha512)
    )
  }

  func writeIndex(base: String, checksums: String = "SHA512SUMS") throws {
    let entries = ["qcow2", "raw"].map { format in
      #"{"name": "test/\#(format)", "arch": "\#(ImageIndex.hostArch)", "url": "\#(base)/cloud.\#(format)", "checksum_url": "\#(base)/\#(checksums)"\#(format == "raw" ? #", "firmware": "uefi""# : "")}"#
    }
    try Data(#"{"version": 1, "images": [\#(entries.joined(separator: ", "))]}"#.utf8).write(
      to: URL(fileURLWithPath: indexPath))
  }

  func installer() -> BoxInstaller {
    BoxInstaller(store: store, environment: ["CARAVAN_IMAGE_INDEX": indexPath])
  }

  @Test func indexImagesAreDownloadedCheckedAndStoredAsQcow2Boxes() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sums = try makeImages()
    let server = try BoxServer(root: served)
    defer { server.stop() }
    try writeIndex(base: server.base)
    var steps: [String] = []
    let installer = installer()
    installer.onStep = { steps.append($0) }

    let qcow2 = try installer.add(.init(source: "test/qcow2"))
    #expect(qcow2.name == "test/qcow2" && qcow2.version == "0")
    let image = try #require(qcow2.metadata.image)
    #expect(image.format == "qcow2" && image.firmware == .bios && image.indexName == "test/qcow2")
    #expect(image.checksum == "sha512:" + sums.qcow2)
    #expect(image.source == server.base + "/cloud.qcow2" && image.checksumURL == server.base + "/SHA512SUMS")
    #expect(qcow2.metadata.virtualSizeGB == 1)
    #expect(
      try StreamingDigest.hex(ofFile: qcow2.directory + "/box.img", .sha512) == sums.qcow2, "stored as downloaded")
    #expect(steps.contains { $0.contains("checking its sha512") }, "\(steps)")

    let raw = try installer.add(.init(source: "test/raw"))
    let rawImage = try #require(raw.metadata.image)
    #expect(rawImage.format == "raw" && rawImage.firmware == .uefi && rawImage.checksum == "sha512:" + sums.raw)
    let info = try Subprocess(["qemu-img", "info", "--output=json", raw.directory + "/box.img"]).run()
    #expect(info.stdout.contains(#""format": "qcow2""#), "converted: \(info.stdout)")
    #expect(info.stdout.contains(#""virtual-size": 4194304"#), "\(info.stdout)")
    let compare = try Subprocess(["qemu-img", "compare", "-q", served + "/cloud.raw", raw.directory + "/box.img"]).run()
    #expect(compare.status == 0, "the same disk: \(compare)")
    #expect(!FileManager.default.fileExists(atPath: raw.directory + "/image.download"))

    // Listed as images, and found again by a fresh store read.
    let listed = try store.list()
    #expect(listed.map(\.name) == ["test/qcow2", "test/raw"])
    #expect(listed.allSatisfy { $0.metadata.image != nil && $0.digest != nil })
    // A box of the index already installed is refused by `box add`, as for any URL, before
    // anything is fetched; `up` (a version constraint) takes it as it is.
    let fetched = server.requests(containing: "SHA512SUMS").count
    let again = try #require(throws: CaravanError.self) { try installer.add(.init(source: "test/qcow2")) }
    #expect(again.message == "box 'test/qcow2' (version 0) is already installed", "\(again)")
    var fromUp = BoxInstaller.Request(source: "test/qcow2")
    fromUp.versionIsConstraint = true
    #expect(try installer.add(fromUp) == qcow2)
    #expect(server.requests(containing: "SHA512SUMS").count == fetched)
    // `box update` says how an image is fetched again.
    let update = try #require(throws: CaravanError.self) {
      try installer.update(BoxTarget(name: "test/raw", catalog: nil, constraint: nil))
    }
    #expect(update.message == "box 'test/raw' is an image from test/raw, which has no versions to update to")
    #expect(update.hint == "Fetch the image it serves now with `caravan box add test/raw --force`.")
  }

  @Test func aBadChecksumInstallsNothing() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try makeImages()
    // The SHA512SUMS says other bytes for the qcow2: a damaged download.
    let bad = String(repeating: "0", count: 128)
    try shell("sed -i 's/^[0-9a-f]*  cloud.qcow2/\(bad)  cloud.qcow2/' SHA512SUMS", in: served)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    try writeIndex(base: server.base)
    let error = try #require(throws: CaravanError.self) { try installer().add(.init(source: "test/qcow2")) }
    #expect(error.message.hasPrefix("checksum mismatch for \(server.base)/cloud.qcow2: expected sha512:\(bad)"))
    #expect(try store.list().isEmpty)
    #expect(
      (try? FileManager.default.contentsOfDirectory(atPath: store.root))?.isEmpty ?? true, "nothing left in the store")
  }

  @Test func aChecksumFileWithoutTheImageNamesBoth() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try makeImages()
    try shell("grep -v cloud.raw SHA512SUMS > PARTIAL", in: served)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    try writeIndex(base: server.base, checksums: "PARTIAL")
    let error = try #require(throws: CaravanError.self) { try installer().add(.init(source: "test/raw")) }
    #expect(error.message == "the checksum file \(server.base)/PARTIAL has no line for 'cloud.raw'")
    #expect(server.requests(containing: "cloud.raw").isEmpty, "the image is not downloaded")
    #expect(try store.list().isEmpty)
  }

  /// A plain URL or file with --checksum-url, and a file without: told apart from .box files by content.
  @Test func plainImagesByURLAndByFile() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sums = try makeImages()
    // A name that says nothing: the content decides.
    try FileManager.default.copyItem(atPath: served + "/cloud.qcow2", toPath: served + "/download")
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let byURL = try installer().add(
      .init(source: server.base + "/cloud.raw", name: "mine/raw", checksumURL: server.base + "/SHA512SUMS"))
    #expect(byURL.metadata.image?.format == "raw" && byURL.metadata.image?.indexName == nil)
    let byFile = try installer().add(
      .init(source: served + "/cloud.qcow2", name: "mine/file", checksumURL: served + "/SHA512SUMS"))
    #expect(byFile.metadata.image?.checksum == "sha512:" + sums.qcow2)
    let unnamed = try installer().add(.init(source: served + "/download", name: "mine/unnamed"))
    #expect(unnamed.metadata.image?.format == "qcow2" && unnamed.metadata.image?.checksum.hasPrefix("sha256:") == true)
    // Garbage is refused by what it is not, and leaves nothing.
    try Data("<html>404</html>".utf8).write(to: URL(fileURLWithPath: served + "/page.qcow2"))
    let error = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/page.qcow2", name: "mine/page"))
    }
    #expect(error.message.contains("is not a box: not a qcow2 image"), "\(error)")
    #expect(try store.list().map(\.name) == ["mine/file", "mine/raw", "mine/unnamed"])
  }
}
