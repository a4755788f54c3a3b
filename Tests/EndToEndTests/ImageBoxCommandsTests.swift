import Foundation
import TestSupport
import Testing

/// `caravan box add` of cloud images, against a test image index and images on
/// 127.0.0.1: no libvirt, no guest.
@Suite(.ownThreads, .enabled(if: !Harness.binary.isEmpty, "needs CARAVAN_BIN (run `make test`)"))
struct ImageBoxCommandsTests {
  /// A qcow2 image (qemu-img) and its SHA512SUMS in `served`, and an index naming it.
  func serveImage(_ h: Harness) throws -> (server: BoxServer, index: String) {
    let served = h.root + "/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    let made = try Harness.exec(
      ["sh", "-c", "set -e; qemu-img create -q -f qcow2 cloud.qcow2 32M; sha512sum cloud.qcow2 > SHA512SUMS"],
      in: served, environment: ProcessInfo.processInfo.environment)
    try #require(made.status == 0, "\(made)")
    let server = try BoxServer(root: served)
    let index = h.root + "/index.json"
    try
      #"{"version": 1, "images": [{"name": "test/cloud", "arch": "amd64", "url": "\#(server.base)/cloud.qcow2", "checksum_url": "\#(server.base)/SHA512SUMS", "firmware": "uefi"}]}"#
      .write(toFile: index, atomically: true, encoding: .utf8)
    return (server, index)
  }

  @Test func anIndexImageIsAddedListedAsAnImageAndItsIndexPrinted() throws {
    let h = try Harness(name: "imagebox")
    defer { h.cleanUp() }
    let (server, index) = try serveImage(h)
    defer { server.stop() }
    let environment = ["CARAVAN_IMAGE_INDEX": index, "CARAVAN_SERVER_URL": server.base]

    let list = try h.caravan("box", "add", "--list-images", in: h.root, environment: environment)
    #expect(list.status == 0, "\(list)")
    #expect(list.stdout.contains("NAME        ARCH   FIRMWARE  URL"), "\(list)")
    #expect(list.stdout.contains("test/cloud  amd64  uefi      \(server.base)/cloud.qcow2"), "\(list)")
    let shipped = try h.caravan("box", "add", "--list-images", in: h.root)
    #expect(shipped.stdout.contains("debian-12-genericcloud-amd64.qcow2"), "\(shipped)")

    let add = try h.caravan("box", "add", "test/cloud", in: h.root, environment: environment)
    #expect(add.status == 0 && add.stdout.contains("box 'test/cloud' (version 0, qcow2 image) added"), "\(add)")
    let boxes = try h.caravan("box", "list", in: h.root, environment: environment)
    #expect(boxes.stdout.contains("test/cloud (libvirt, 0)  image (qcow2, uefi)"), "\(boxes)")
    let json = try h.caravan("box", "list", "--json", in: h.root)
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect(rows.first?["kind"] as? String == "image", "\(json)")
    let image = try #require(rows.first?["image"] as? [String: Any])
    #expect(image["index_name"] as? String == "test/cloud" && image["firmware"] as? String == "uefi", "\(image)")
    #expect((image["checksum"] as? String)?.hasPrefix("sha512:") == true, "\(image)")

    // A name in neither the index nor the box server: the error lists the index.
    let unknown = try h.caravan("box", "add", "test/other", in: h.root, environment: environment)
    #expect(unknown.status != 0, "\(unknown)")
    #expect(unknown.stderr.contains("'test/other' is neither in the image index \(index)"), "\(unknown)")
    #expect(unknown.stderr.contains("Images in the index: test/cloud."), "\(unknown)")
  }

  @Test func badChecksumsAndBadArgumentsInstallNothing() throws {
    let h = try Harness(name: "imagebad")
    defer { h.cleanUp() }
    let (server, _) = try serveImage(h)
    defer { server.stop() }
    let url = server.base + "/cloud.qcow2"
    let wrong = try h.caravan(
      "box", "add", "mine", url, "--checksum", "sha256:" + String(repeating: "0", count: 64), in: h.root)
    #expect(wrong.status == 1 && wrong.stderr.contains("checksum mismatch for \(url)"), "\(wrong)")
    let both = try h.caravan(
      "box", "add", "mine", url, "--checksum", "sha256:" + String(repeating: "0", count: 64), "--checksum-url",
      server.base + "/SHA512SUMS", in: h.root)
    #expect(both.status == 64 && both.stderr.contains("--checksum and --checksum-url both give"), "\(both)")
    let none = try h.caravan("box", "add", in: h.root)
    #expect(none.status == 64 && none.stderr.contains("Missing the box"), "\(none)")
    let listed = try h.caravan("box", "list", in: h.root)
    #expect(listed.stdout.contains("There are no installed boxes"), "\(listed)")

    let good = try h.caravan("box", "add", "mine", url, "--checksum-url", server.base + "/SHA512SUMS", in: h.root)
    #expect(good.status == 0 && good.stdout.contains("(version 0, qcow2 image) added"), "\(good)")
  }
}
