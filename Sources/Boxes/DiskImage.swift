import Foundation
import Spec
import Support

/// What a box source is, told by its first bytes (never by its file name): a
/// `.box` archive, a qcow2 image, or a raw disk image.
public enum BoxContent: String, Sendable, Equatable {
  case archive, qcow2, raw

  /// Bytes needed to decide: the GPT header's signature ends at 520, tar's magic at 262.
  public static let headerLength = 1024

  /// Decides from the first bytes of the source (`header`, up to `headerLength`).
  /// A raw image is only a guess here; `checkRaw` confirms its size at the end.
  public static func sniff(_ header: some Collection<UInt8>, source: String) throws -> BoxContent {
    let bytes = Array(header.prefix(headerLength))
    func has(_ magic: [UInt8], at offset: Int = 0) -> Bool {
      bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
    }
    if has([0x51, 0x46, 0x49, 0xfb]) { return .qcow2 }
    let archives: [(magic: [UInt8], offset: Int)] = [
      ([0x1f, 0x8b], 0),  // gzip
      (Array("BZh".utf8), 0),  // bzip2
      ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 0),  // xz
      ([0x28, 0xb5, 0x2f, 0xfd], 0),  // zstd
      ([0x50, 0x4b, 0x03, 0x04], 0),  // zip
      (Array("ustar".utf8), 257),  // tar (POSIX and GNU)
    ]
    if archives.contains(where: { has($0.magic, at: $0.offset) }) { return .archive }
    if has([0x55, 0xaa], at: 510) || has(Array("EFI PART".utf8), at: 512) { return .raw }
    let start = bytes.prefix(16).map { String(format: "%02x", $0) }.joined(separator: " ")
    throw CaravanError(
      .invalidInput,
      "'\(source)' is not a box: not a qcow2 image (no QFI\\xfb magic), not a raw disk image (no MBR or GPT signature) and not a .box archive (tar, gzip, bzip2, xz, zstd or zip); it starts with \(bytes.isEmpty ? "nothing (it is empty)" : start)",
      hint:
        "Give a vagrant-libvirt .box, a distribution's cloud image (qcow2 or raw), or their URL; an HTML page means the URL is wrong."
    )
  }

  /// A raw disk image is a whole number of 512-byte sectors.
  static func checkRaw(size: UInt64, source: String) throws {
    guard size >= 1024, size % 512 == 0 else {
      throw CaravanError(
        .invalidInput,
        "'\(source)' looks like a raw disk image but is \(size) bytes, not a whole number of 512-byte sectors",
        hint: "The download may be cut short; try again, or check the URL.")
    }
  }
}

/// A qcow2 image's header: what Caravan checks before the image becomes a box.
struct QCOW2Header {
  var version: UInt32
  var virtualSize: UInt64
  var hasBackingFile: Bool
  var hasExternalDataFile: Bool

  /// Reads the header of the qcow2 file at `path` (QEMU's docs/interop/qcow2.txt).
  init(file path: String, source: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw FileSystem.ioError("read", path) }
    defer { try? handle.close() }
    let bytes = Array((try handle.read(upToCount: 104)) ?? Data())
    func integer(_ offset: Int, _ count: Int) -> UInt64 {
      guard bytes.count >= offset + count else { return 0 }
      return bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }
    guard bytes.count >= 72, integer(0, 4) == 0x5146_49fb else {
      throw CaravanError(
        .invalidInput, "'\(source)' is too short to be a qcow2 image (\(bytes.count) bytes of header)",
        hint: "The download may be cut short; try again.")
    }
    version = UInt32(integer(4, 4))
    hasBackingFile = integer(8, 8) != 0
    virtualSize = integer(24, 8)
    // Version 3's incompatible feature bit 2: the guest's data lives in another file.
    hasExternalDataFile = version >= 3 && integer(72, 8) & 0b100 != 0
  }

  /// A box image stands alone: one that names a backing file or an external
  /// data file could make QEMU open a file of the host.
  func checkStandsAlone(source: String) throws {
    if hasBackingFile || hasExternalDataFile {
      throw CaravanError(
        .invalidInput,
        "'\(source)' is a qcow2 image that refers to another file (\(hasBackingFile ? "a backing file" : "an external data file")); a box image must stand alone",
        hint: "Flatten it first: `qemu-img convert -O qcow2 IMAGE flat.qcow2`, then add flat.qcow2.")
    }
    guard virtualSize > 0 else {
      throw CaravanError(
        .invalidInput, "'\(source)' is a qcow2 image whose disk size is 0", hint: "Check that the image is complete.")
    }
  }
}

/// Turns a downloaded image in a staging folder into a box: `box.img` (always
/// qcow2, as the storage pool and each machine's overlay expect; a raw image is
/// converted with `qemu-img convert`) and a `metadata.json` saying it is an image.
enum ImageBox {
  static func prepare(
    downloaded path: String, content: BoxContent, in staging: String, origin: ImageOrigin, source: String
  ) throws {
    let image = staging + "/box.img"
    switch content {
    case .archive: throw CaravanError(.internalError, "an archive reached the image preparation")
    case .qcow2:
      try FileManager.default.moveItem(atPath: path, toPath: image)
    case .raw:
      let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
      try BoxContent.checkRaw(size: size, source: source)
      let result = try Subprocess(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", path, image]).run()
      guard result.status == 0 else {
        throw CaravanError(
          .io, "cannot convert the raw image '\(source)' to qcow2: qemu-img exited with \(result.status)",
          hint: result.stderr.isEmpty ? "Check the free space in the box store." : result.stderr)
      }
      try FileManager.default.removeItem(atPath: path)
    }
    let header = try QCOW2Header(file: image, source: source)
    try header.checkStandsAlone(source: source)
    var metadata: [String: Any] = [
      "provider": "libvirt", "format": "qcow2",
      // GB rounded up, as vagrant-libvirt's metadata.json says it.
      "virtual_size": Int((header.virtualSize + (1 << 30) - 1) >> 30),
    ]
    metadata["image"] = origin.json
    let data = try JSONSerialization.data(
      withJSONObject: metadata, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try FileSystem.writeAtomically(data, to: staging + "/metadata.json", mode: 0o644)
  }
}
