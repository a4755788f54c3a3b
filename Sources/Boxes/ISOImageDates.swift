import Foundation

/// Sets every date of an ISO 9660 image that libarchive took from the clock to one
/// fixed time, so the same files make the same bytes. libarchive dates the volume
/// descriptors, the root directory (its records and its Rock Ridge `TF` stamps) and
/// its information block with the time the image was started, and offers no option
/// to change it outside its DEBUG builds; the files' own dates come from their entries.
///
/// It walks the standard structures (ECMA-119 volume descriptors and directory
/// records, SUSP/Rock Ridge entries with their continuation areas) of the root
/// directory of each descriptor, and changes nothing else.
enum ISOImageDates {
  static let sector = 2048

  static func fix(_ image: inout [UInt8], to time: Int) {
    let (short, long) = stamps(time)
    var descriptor = 16
    while (descriptor + 1) * sector <= image.count {
      let base = descriptor * sector
      let type = image[base]
      if type == 255 {
        fixInformationBlock(&image, at: base + sector, time: time)
        break
      }
      if type == 1 || type == 2 {
        for offset in [813, 830, 864] { replace(&image, at: base + offset, with: long) }
        let root = base + 156
        replace(&image, at: root + 18, with: short)
        fixDirectory(&image, extent: int32(image, root + 2), size: int32(image, root + 10), short: short, long: long)
      }
      descriptor += 1
    }
  }

  /// libarchive's information block after the descriptors: `INFO ` and the start time as
  /// `ctime` writes it (local time, 24 characters), then its version and options.
  private static func fixInformationBlock(_ image: inout [UInt8], at base: Int, time: Int) {
    let prefix = Array("INFO ".utf8)
    guard base + 30 <= image.count, Array(image[base..<base + 5]) == prefix, image[base + 29] == UInt8(ascii: "\n")
    else { return }
    var seconds = time_t(time)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    var text = [CChar](repeating: 0, count: 32)
    strftime(&text, text.count, "%a %b %e %H:%M:%S %Y", &parts)
    let stamp = Array(String(cString: text).utf8)
    if stamp.count == 24 { replace(&image, at: base + 5, with: stamp) }
  }

  /// Each record of the directory at `extent` (sectors) of `size` bytes: its date, and the
  /// stamps of its Rock Ridge `TF` entry.
  private static func fixDirectory(_ image: inout [UInt8], extent: Int, size: Int, short: [UInt8], long: [UInt8]) {
    let start = extent * sector
    guard start >= 0, size >= 0, start + size <= image.count else { return }
    var offset = start
    while offset < start + size {
      let length = Int(image[offset])
      if length == 0 {
        // Records do not cross sectors: the rest of this one is padding.
        offset = (offset / sector + 1) * sector
        continue
      }
      guard offset + length <= image.count, length >= 34 else { return }
      replace(&image, at: offset + 18, with: short)
      let nameLength = Int(image[offset + 32])
      let system = offset + 33 + nameLength + (nameLength % 2 == 0 ? 1 : 0)
      fixSystemUse(&image, from: system, to: offset + length, short: short, long: long, depth: 0)
      offset += length
    }
  }

  /// SUSP entries from `from` to `end`: `TF` stamps set, `CE` continuation areas followed.
  private static func fixSystemUse(
    _ image: inout [UInt8], from: Int, to end: Int, short: [UInt8], long: [UInt8], depth: Int
  ) {
    var at = from
    while at + 4 <= end, depth < 8 {
      let signature = String(decoding: image[at..<at + 2], as: UTF8.self)
      let length = Int(image[at + 2])
      guard length >= 4, at + length <= end else { return }
      switch signature {
      case "TF":
        let flags = image[at + 4]
        let stamp = flags & 0x80 != 0 ? long : short
        var field = at + 5
        for bit in 0..<7 where flags & (1 << bit) != 0 && field + stamp.count <= at + length {
          replace(&image, at: field, with: stamp)
          field += stamp.count
        }
      case "CE":
        let area = int32(image, at + 4) * sector + int32(image, at + 12)
        let size = int32(image, at + 20)
        if area >= 0, size >= 0, area + size <= image.count {
          fixSystemUse(&image, from: area, to: area + size, short: short, long: long, depth: depth + 1)
        }
      case "ST": return
      default: break
      }
      at += length
    }
  }

  /// The 7-byte directory-record date and the 17-byte descriptor date of `time`, in UTC.
  static func stamps(_ time: Int) -> (short: [UInt8], long: [UInt8]) {
    var seconds = time_t(time)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let short = [parts.tm_year, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, 0]
      .map { UInt8(clamping: $0) }
    let digits = String(
      format: "%04d%02d%02d%02d%02d%02d00", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
      parts.tm_min, parts.tm_sec)
    return (short, Array(digits.utf8) + [0])
  }

  private static func replace(_ image: inout [UInt8], at offset: Int, with bytes: [UInt8]) {
    guard offset >= 0, offset + bytes.count <= image.count else { return }
    image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
  }

  /// The little-endian half of an ISO 9660 both-endian 32-bit number.
  private static func int32(_ image: [UInt8], _ offset: Int) -> Int {
    guard offset >= 0, offset + 4 <= image.count else { return -1 }
    return (0..<4).reduce(0) { $0 | Int(image[offset + $1]) << (8 * $1) }
  }
}
