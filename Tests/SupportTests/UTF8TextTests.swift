import Support
import Testing

@Suite struct UTF8TextTests {
  @Test func wellFormedTextHasNoBadByte() {
    #expect(UTF8Text.firstInvalidByte(in: Array("plain, é, €, 😀\n".utf8)) == nil)
    #expect(UTF8Text.firstInvalidByte(in: []) == nil)
  }

  @Test(
    arguments: [
      ([0x61, 0xFF], 1),  // never in UTF-8
      ([0x61, 0x80], 1),  // a continuation byte alone
      ([0xC0, 0xAF], 0),  // overlong '/'
      ([0xE0, 0x80, 0xAF], 0),  // overlong, three bytes
      ([0xED, 0xA0, 0x80], 0),  // a surrogate
      ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
      ([0x61, 0x62, 0xE2, 0x82], 2),  // cut short at the end
      ([0xE2, 0x82, 0x61], 0),  // cut short before ASCII
    ] as [([UInt8], Int)])
  func theFirstBadByteIsFound(bytes: [UInt8], offset: Int) {
    #expect(UTF8Text.firstInvalidByte(in: bytes) == offset)
  }

  @Test func positionsCountScalarsNotBytesAndSkipTheBOM() {
    let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("ab\n\u{E9}\u{20AC}\tx".utf8) + [0xFF] + Array("y\r\nz".utf8)
    let bad = bytes.firstIndex(of: 0xFF) ?? 0
    let position = UTF8Text.position(of: bad, in: bytes)
    #expect(position.line == 2 && position.column == 5)
    #expect(UTF8Text.line(containing: bad, in: bytes) == "\u{E9}\u{20AC}\tx\u{FFFD}y")
    #expect(UTF8Text.line(containing: 3, in: bytes) == "ab")
  }
}
