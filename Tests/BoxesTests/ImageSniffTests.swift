import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// What a box source is, from its first bytes: files made by the real tools.
struct ImageSniffTests {
  let root = NSTemporaryDirectory() + "caravan-sniff-\(UUID().uuidString)"

  func head(_ file: String) throws -> Data {
    let handle = try #require(FileHandle(forReadingAtPath: root + "/" + file))
    defer { try? handle.close() }
    return try handle.read(upToCount: BoxContent.headerLength) ?? Data()
  }

  @Test func qcow2RawMBRRawGPTAndBoxesAreToldApart() throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try shell(
      """
      PATH=$PATH:/usr/sbin:/sbin
      qemu-img create -q -f qcow2 disk.qcow2 64M
      truncate -s 4M mbr.img
      printf 'label: dos\\n,,L\\n' | sfdisk -q mbr.img
      truncate -s 4M gpt.img
      printf 'label: gpt\\n,,L\\n' | sfdisk -q gpt.img
      printf '{}' > metadata.json
      tar -cf box.tar metadata.json
      tar -czf box.tgz metadata.json
      printf '<html><body>Not Found</body></html>' > page.html
      """, in: root)
    #expect(try BoxContent.sniff(head("disk.qcow2"), source: "disk.qcow2") == .qcow2)
    #expect(try BoxContent.sniff(head("mbr.img"), source: "mbr.img") == .raw)
    #expect(try BoxContent.sniff(head("gpt.img"), source: "gpt.img") == .raw)
    #expect(try BoxContent.sniff(head("box.tar"), source: "box.tar") == .archive)
    #expect(try BoxContent.sniff(head("box.tgz"), source: "box.tgz") == .archive)
    let error = try #require(throws: CaravanError.self) { try BoxContent.sniff(head("page.html"), source: "page.html") }
    #expect(
      error.message.hasPrefix(
        "'page.html' is not a box: not a qcow2 image (no QFI\\xfb magic), not a raw disk image (no MBR or GPT signature) and not a .box archive"
      ), "\(error)")
    #expect(error.message.hasSuffix("it starts with 3c 68 74 6d 6c 3e 3c 62 6f 64 79 3e 4e 6f 74 20"), "\(error)")
    let empty = try #require(throws: CaravanError.self) { try BoxContent.sniff(Data(), source: "e") }
    #expect(empty.message.hasSuffix("it starts with nothing (it is empty)"))
  }

  /// A GPT disk whose protective MBR was wiped is still raw, by its GPT header alone.
  @Test func aGPTHeaderAloneIsEnough() throws {
    var bytes = [UInt8](repeating: 0, count: 1024)
    bytes.replaceSubrange(512..<520, with: Array("EFI PART".utf8))
    #expect(try BoxContent.sniff(bytes, source: "g") == .raw)
    bytes.replaceSubrange(512..<520, with: Array("EFI PARX".utf8))
    #expect(throws: CaravanError.self) { try BoxContent.sniff(bytes, source: "g") }
  }

  @Test func aRawImageIsWholeSectors() throws {
    try BoxContent.checkRaw(size: 4 << 20, source: "r")
    let error = try #require(throws: CaravanError.self) { try BoxContent.checkRaw(size: (4 << 20) + 100, source: "r") }
    #expect(error.message.contains("is 4194404 bytes, not a whole number of 512-byte sectors"), "\(error)")
  }

  /// A qcow2 that names a backing file could make QEMU open a host file: refused.
  @Test func aQcow2WithABackingFileIsRefused() throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try shell(
      """
      qemu-img create -q -f qcow2 base.qcow2 64M
      qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 over.qcow2
      """, in: root)
    let base = try QCOW2Header(file: root + "/base.qcow2", source: "base")
    #expect(base.virtualSize == 64 << 20 && !base.hasBackingFile)
    try base.checkStandsAlone(source: "base")
    let over = try QCOW2Header(file: root + "/over.qcow2", source: "over")
    let error = try #require(throws: CaravanError.self) { try over.checkStandsAlone(source: "over") }
    #expect(error.message.contains("refers to another file (a backing file)"), "\(error)")
  }

  /// A downloaded image is written with holes for its pages of zeros, in chunks of any alignment.
  @Test func aStreamedImageKeepsItsHoles() throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    var image = Data(count: 8 << 20)
    image[5000] = 0x55
    image[(4 << 20) + 1] = 0xaa
    let writer = try SparseFileWriter(path: root + "/image")
    try image.withUnsafeBytes { bytes in
      var offset = 0
      for chunk in [1, 4095, 70_000, 3 << 20] + Array(repeating: 1 << 20, count: 8) where offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        try writer.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
      }
    }
    try writer.finish()
    #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/image")) == image)
    var info = stat()
    #expect(stat(root + "/image", &info) == 0)
    #expect(info.st_blocks * 512 < 1 << 20, "8 MiB with two non-zero bytes: \(info.st_blocks) blocks")
  }
}
