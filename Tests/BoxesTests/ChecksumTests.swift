import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// Published test vectors: RFC 1321 (MD5), FIPS 180 examples (SHA-1, SHA-2).
struct BoxChecksumTests {
  static let abc: [(Checksum.Kind, String)] = [
    (.md5, "900150983cd24fb0d6963f7d28e17f72"),
    (.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
    (
      .sha512,
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    ),
  ]

  static let empty: [(Checksum.Kind, String)] = [
    (.md5, "d41d8cd98f00b204e9800998ecf8427e"),
    (.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    (.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (.sha384, "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"),
    (
      .sha512,
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    ),
  ]

  @Test(arguments: abc)
  func knownDigestsOfABC(kind: Checksum.Kind, hex: String) throws {
    var digest = StreamingDigest(kind)
    digest.update(Data("abc".utf8))
    #expect(digest.finalizeHex() == hex)
    #expect(hex.count == kind.hexLength)
  }

  @Test(arguments: empty)
  func knownDigestsOfNothing(kind: Checksum.Kind, hex: String) {
    var digest = StreamingDigest(kind)
    digest.update(Data())
    #expect(digest.finalizeHex() == hex)
    var untouched = StreamingDigest(kind)
    #expect(untouched.finalizeHex() == hex)
  }

  /// The two-block FIPS 180 message, fed a byte at a time.
  @Test func twoBlockVectorFedByteByByte() {
    var digest = StreamingDigest(.sha256)
    for byte in "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8 {
      withUnsafeBytes(of: byte) { digest.update($0) }
    }
    #expect(digest.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test(arguments: Checksum.Kind.allCases)
  func chunksOfAnySizeGiveTheOneShotDigest(kind: Checksum.Kind) {
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    var whole = StreamingDigest(kind)
    bytes.withUnsafeBytes { whole.update($0) }
    let expected = whole.finalizeHex()

    var pieces = StreamingDigest(kind)
    bytes.withUnsafeBytes { buffer in
      var start = 0
      // Sizes around the 64- and 128-byte blocks, nothing at all, and large reads.
      for size in [0, 1, 63, 64, 65, 127, 128, 129, 0, 4096, 65_536, 100_000] {
        pieces.update(UnsafeRawBufferPointer(rebasing: buffer[start..<start + size]))
        start += size
      }
      pieces.update(UnsafeRawBufferPointer(rebasing: buffer[start...]))
    }
    #expect(pieces.finalizeHex() == expected)

    var asData = StreamingDigest(kind)
    asData.update(Data(bytes[..<1000]))
    asData.update(Data(bytes[1000...]))
    #expect(asData.finalizeHex() == expected)
  }

  @Test func aCopyHashesOnItsOwn() {
    var first = StreamingDigest(.sha256)
    first.update(Data("ab".utf8))
    var second = first
    second.update(Data("c".utf8))
    first.update(Data("x".utf8))
    #expect(second.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(first.finalizeHex() != second.finalizeHex())
  }

  @Test func parsesTypeColonHex() throws {
    let hex = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
    let sum = try Checksum(parsing: "sha256:\(hex)")
    #expect(sum.kind == .sha256)
    #expect(sum.hex == hex.lowercased())
    #expect(sum.description == "sha256:\(hex.lowercased())")
    #expect(try Checksum(parsing: " SHA256:\(hex) ") == sum)
    #expect(try Checksum(type: "Sha256", value: hex) == sum)
    #expect(try Checksum(kind: .sha256, hex: hex) == sum)
    for (kind, digest) in BoxChecksumTests.abc {
      #expect(try Checksum(parsing: "\(kind.rawValue):\(digest)").kind == kind)
    }
  }

  @Test func badValuesAreNamed() throws {
    let short = try #require(throws: CaravanError.self) { try Checksum(parsing: "sha256:abc") }
    #expect(short.message == "'abc' is not a sha256 checksum: it needs 64 hex digits")
    #expect(short.hint == "It has 3; copy the checksum again (`sha256sum FILE` prints it).")

    let sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d"
    let wrongType = try #require(throws: CaravanError.self) { try Checksum(type: "sha256", value: sha1) }
    #expect(wrongType.message == "'\(sha1)' is not a sha256 checksum: it needs 64 hex digits")
    #expect(wrongType.hint == "It has 40, as a sha1 checksum does: is the type right?")

    let notHex = try #require(throws: CaravanError.self) {
      try Checksum(kind: .md5, hex: "900150983cd24fb0d6963f7d28e17g72")
    }
    #expect(notHex.message == "'900150983cd24fb0d6963f7d28e17g72' is not a md5 checksum: 'g' is not a hex digit")

    // Fullwidth digits are hex digits to Character, not to sha256sum.
    let fullwidth = "ａ" + String(repeating: "0", count: 31)
    let wide = try #require(throws: CaravanError.self) { try Checksum(kind: .md5, hex: fullwidth) }
    #expect(wide.message == "'\(fullwidth)' is not a md5 checksum: 'ａ' is not a hex digit")

    let empty = try #require(throws: CaravanError.self) { try Checksum(parsing: "sha1:") }
    #expect(empty.message == "'' is not a sha1 checksum: it needs 40 hex digits")
  }

  @Test func badTypesSayTheFormAndTheTypes() throws {
    let unknown = try #require(throws: CaravanError.self) { try Checksum(parsing: "crc32:abcd") }
    #expect(unknown.message == "checksum type 'crc32' is not known")
    #expect(unknown.hint == "Write TYPE:HEX with TYPE one of md5, sha1, sha256, sha384, sha512, e.g. sha256:ba7816bf…")

    let dashed = try #require(throws: CaravanError.self) { try Checksum(type: "SHA-256", value: "00") }
    #expect(dashed.message == "checksum type 'SHA-256' is not known")

    let bare = try #require(throws: CaravanError.self) { try Checksum(parsing: "ba7816bf") }
    #expect(bare.message == "checksum 'ba7816bf' has no type")
    #expect(bare.hint?.hasPrefix("Write TYPE:HEX") == true)

    let spaced = try #require(throws: CaravanError.self) {
      try Checksum(parsing: "sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
    #expect(spaced.message.hasSuffix("has no type"))
  }

  @Test func verifyAcceptsAnyCaseAndNamesAMismatch() throws {
    let sum = try Checksum(kind: .md5, hex: "900150983cd24fb0d6963f7d28e17f72")
    try sum.verify("900150983CD24FB0D6963F7D28E17F72", what: "'x.box'")
    let mismatch = try #require(throws: CaravanError.self) {
      try sum.verify("D41D8CD98F00B204E9800998ECF8427E", what: "'https://example.org/x.box'")
    }
    #expect(
      mismatch.message
        == "checksum mismatch for 'https://example.org/x.box': expected md5:900150983cd24fb0d6963f7d28e17f72, got md5:d41d8cd98f00b204e9800998ecf8427e"
    )
    #expect(mismatch.hint == "The download is damaged or the catalog's checksum is wrong; nothing was installed.")
  }
}
