// Where text that should be UTF-8 is not: the first byte that breaks the encoding, and its
// line and column, so a Machinefile, Boxfile or template with one stray byte gets a
// diagnostic at that byte instead of being refused as a whole.

/// Positions in UTF-8 bytes, as the Machinefile lexer counts them: lines from 1, columns from
/// 1 in Unicode scalars (a tab is one column).
public enum UTF8Text {
  /// The offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629:
  /// no overlong forms, no surrogates, nothing above U+10FFFF), or nil when all of it is UTF-8.
  public static func firstInvalidByte(in bytes: [UInt8]) -> Int? {
    var offset = 0
    while offset < bytes.count {
      let lead = bytes[offset]
      if lead < 0x80 {
        offset += 1
        continue
      }
      // The length of the sequence and the range its second byte must be in.
      let length: Int
      let second: ClosedRange<UInt8>
      switch lead {
      case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
      case 0xE0: (length, second) = (3, 0xA0...0xBF)
      case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
      case 0xED: (length, second) = (3, 0x80...0x9F)
      case 0xF0: (length, second) = (4, 0x90...0xBF)
      case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
      case 0xF4: (length, second) = (4, 0x80...0x8F)
      default: return offset
      }
      guard offset + 1 < bytes.count, second.contains(bytes[offset + 1]) else { return offset }
      for index in offset + 2..<offset + length {
        guard index < bytes.count, (0x80...0xBF).contains(bytes[index]) else { return offset }
      }
      offset += length
    }
    return nil
  }

  /// The line and column of the byte at `offset`: lines counted by LF, columns by the
  /// scalars (lead bytes) before it on its line, a CR before the LF not counted, a leading
  /// byte-order mark not counted (the lexer drops it).
  public static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    while index < offset, index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        column += 1
      }
      index += 1
    }
    return (line, column)
  }

  /// The line holding the byte at `offset`, without its line ending; bytes that are not
  /// UTF-8 become U+FFFD.
  public static func line(containing offset: Int, in bytes: [UInt8]) -> String {
    var start = min(offset, bytes.count)
    while start > 0, bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
    var end = min(offset, bytes.count)
    while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
    if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    if start == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = min(3, end) }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }
}
