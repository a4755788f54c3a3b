import Foundation
import Support

/// The sha256 of a box's disk images, written at `box add` beside them as
/// `caravan-images.sha256` (`sha256sum` lines, so `sha256sum -c` checks it), so
/// that naming the box's pool volumes by image needs no rehash at each `up`.
public enum BoxImageDigest {
  public static let file = "caravan-images.sha256"
  /// How many hex digits of the digest a volume name carries.
  static let length = 12

  /// Hashes the images of `metadata` in `directory` and records them there.
  @discardableResult
  /// `known`: digests checked as the images were written, used instead of reading them again.
  static func record(in directory: String, metadata: BoxMetadata, known: [String: String] = [:]) throws -> String {
    var lines = ""
    var digests: [String] = []
    for disk in metadata.disks {
      let hex = try known[disk] ?? StreamingDigest.hex(ofFile: directory + "/" + disk, .sha256)
      digests.append(hex)
      lines += "\(hex)  \(disk)\n"
    }
    try FileSystem.writeAtomically(Data(lines.utf8), to: directory + "/" + file, mode: 0o644)
    return short(digests)
  }

  /// The full sha256 of each disk image of `metadata`, by file name: the record, else
  /// computed now (and recorded where the store can be written).
  public static func disks(in directory: String, metadata: BoxMetadata) throws -> [String: String] {
    var byDisk = recordedDisks(in: directory).filter { metadata.disks.contains($0.key) }
    let missing = metadata.disks.filter { byDisk[$0] == nil }
    guard !missing.isEmpty else { return byDisk }
    // Each image read once; the record is written from what was read (where the store can be).
    for disk in missing { byDisk[disk] = try StreamingDigest.hex(ofFile: directory + "/" + disk, .sha256) }
    _ = try? record(in: directory, metadata: metadata, known: byDisk)
    return byDisk
  }

  private static func recordedDisks(in directory: String) -> [String: String] {
    guard let text = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else { return [:] }
    var byDisk: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, parts[0].count == 64 else { continue }
      byDisk[parts[1].trimmingCharacters(in: .whitespaces)] = String(parts[0])
    }
    return byDisk
  }

  /// The short digest on record for the images of `metadata`; nil when the
  /// record is missing or does not name each image (a box an older Caravan added).
  static func recorded(in directory: String, metadata: BoxMetadata) -> String? {
    let byDisk = recordedDisks(in: directory)
    let digests = metadata.disks.compactMap { byDisk[$0] }
    return digests.count == metadata.disks.count ? short(digests) : nil
  }

  /// The recorded digest, else one computed now and recorded (once, for a box
  /// an older Caravan added; where the store cannot be written, each time);
  /// nil only when an image cannot be read.
  static func load(in directory: String, metadata: BoxMetadata) -> String? {
    if let known = recorded(in: directory, metadata: metadata) { return known }
    if let made = try? record(in: directory, metadata: metadata) { return made }
    var digests: [String] = []
    for disk in metadata.disks {
      guard let hex = try? StreamingDigest.hex(ofFile: directory + "/" + disk, .sha256) else { return nil }
      digests.append(hex)
    }
    return short(digests)
  }

  /// One image: the first digits of its own sha256 (what `sha256sum` prints);
  /// several: of the sha256 of their digests.
  static func short(_ digests: [String]) -> String {
    if digests.count == 1 { return String(digests[0].prefix(length)) }
    var combined = StreamingDigest(.sha256)
    combined.update(Data(digests.joined(separator: "\n").utf8))
    return String(combined.finalizeHex().prefix(length))
  }
}
