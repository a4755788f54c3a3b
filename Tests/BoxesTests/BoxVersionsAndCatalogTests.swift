import Foundation
import Testing

@testable import Boxes

struct VersionConstraintTests {
  @Test(arguments: [
    ("~> 12.0", "12.0", true), ("~> 12.0", "12.9.3", true), ("~> 12.0", "13.0", false), ("~> 12.0", "11.9", false),
    ("~> 12.0.1", "12.0.9", true), ("~> 12.0.1", "12.1.0", false), ("~> 12.0.1", "12.0.0", false),
    ("~> 12", "12.5", true), ("~> 12", "13", false),
    (">= 1.2, < 2", "1.10", true), (">= 1.2, < 2", "2.0", false), (">= 1.2, < 2", "1.1", false),
    ("= 1.0.3", "1.0.3", true), ("1.0.3", "1.0.3.0", true), ("1.0.3", "1.0.4", false),
    ("!= 2", "2.0", false), ("!= 2", "2.1", true), ("> 1", "1.0.1", true), ("<= 1", "1.0.0", true),
  ])
  func operators(constraint: String, version: String, expected: Bool) throws {
    #expect(try VersionConstraint(parsing: constraint).matches(version) == expected)
  }

  @Test func versionsCompareByNumberNotText() {
    #expect(BoxVersionNumber("12.10")! > BoxVersionNumber("12.9")!)
    #expect(BoxVersionNumber("12.0") == BoxVersionNumber("12"))
    #expect(BoxVersionNumber("v1") == nil)
    #expect(BoxVersionNumber("1..2") == nil)
    #expect(BoxVersionNumber("") == nil)
  }

  @Test func badConstraintsAreNamed() {
    for text in ["~> ", "=> 1", "1.x", ">= 1,", "latest"] {
      #expect(throws: BoxError.self) { try VersionConstraint(parsing: text) }
    }
    let error = try? #require(throws: BoxError.self) { try VersionConstraint(parsing: ">= 1, latest") }
    #expect(error?.message == "'latest' in version constraint '>= 1, latest' is not OPERATOR VERSION")
  }
}

struct CatalogTests {
  static let json = """
    {"name": "acme/deb", "description": "test",
     "versions": [
      {"version": "1.0.0", "status": "active", "providers": [{"name": "libvirt", "url": "a.box", "checksum_type": "sha256", "checksum": "aa"}]},
      {"version": "1.2.0", "providers": [{"name": "virtualbox", "url": "vb.box"}, {"name": "libvirt", "url": "b.box"}]},
      {"version": "1.3.0", "status": "revoked", "providers": [{"name": "libvirt", "url": "c.box"}]},
      {"version": "2.0.0", "providers": [
        {"name": "libvirt", "url": "arm.box", "architecture": "arm64"},
        {"name": "libvirt", "url": "amd.box", "architecture": "amd64", "default_architecture": true}]}
     ]}
    """

  func catalog() throws -> BoxCatalog { try BoxCatalog.parse(Data(CatalogTests.json.utf8), source: "cat.json") }

  @Test func selectsTheNewestMatchingActiveVersionForTheHost() throws {
    let c = try catalog()
    #expect(try c.select(constraint: nil, architecture: "amd64") == .init(version: "2.0.0", provider: c.versions[3].providers[1]))
    #expect(try c.select(constraint: nil, architecture: "arm64").provider.url == "arm.box")
    #expect(try c.select(constraint: VersionConstraint(parsing: "~> 1.0"), architecture: "amd64").version == "1.2.0",
      "1.3.0 is revoked")
    #expect(try c.select(constraint: VersionConstraint(parsing: "< 1.1")).provider.checksum == "aa")
  }

  @Test func errorsSayWhatThereIs() throws {
    let c = try catalog()
    let none = try #require(throws: BoxError.self) { try c.select(constraint: VersionConstraint(parsing: "~> 3.0"), architecture: "amd64") }
    #expect(none.message == "box 'acme/deb' has no version matching '~> 3.0' with a libvirt provider; versions with one: 1.0.0, 1.2.0, 2.0.0")
    let vb = try BoxCatalog.parse(Data(#"{"name":"x/y","versions":[{"version":"1","providers":[{"name":"virtualbox","url":"u"}]}]}"#.utf8), source: "s")
    let provider = try #require(throws: BoxError.self) { try vb.select(constraint: nil) }
    #expect(provider.message == "box 'x/y' has no libvirt provider (it has: virtualbox)")
    let arm = try BoxCatalog.parse(Data(#"{"name":"x/y","versions":[{"version":"1","providers":[{"name":"libvirt","url":"u","architecture":"arm64"}]}]}"#.utf8), source: "s")
    let arch = try #require(throws: BoxError.self) { try arm.select(constraint: nil, architecture: "amd64") }
    #expect(arch.message == "box 'x/y' has no libvirt provider for architecture 'amd64' (it has: arm64)")
  }

  @Test func newerVersionsForOutdated() throws {
    let c = try catalog()
    #expect(c.newer(than: "1.0.0", constraint: nil, architecture: "amd64").map(\.version) == ["2.0.0", "1.2.0"])
    #expect(c.newer(than: "1.0.0", constraint: try VersionConstraint(parsing: "~> 1.0"), architecture: "amd64").map(\.version) == ["1.2.0"])
    #expect(c.newer(than: "2.0.0", constraint: nil).isEmpty)
  }

  @Test func malformedCatalogsNameTheSource() {
    let cases = [
      ("[1]", "the box catalog 'src' is not a JSON object"),
      (#"{"versions": []}"#, "the box catalog 'src' has no \"name\""),
      (#"{"name": "a/b"}"#, "the box catalog 'src' has no \"versions\" list"),
      (#"{"name": "a/b", "versions": [{"providers": []}]}"#, "version #1 in the box catalog 'src' has no \"version\""),
      (#"{"name": "a/b", "versions": [{"version": "1", "providers": [{"name": "libvirt"}]}]}"#,
       "the libvirt provider of version 1 in the box catalog 'src' has no \"url\""),
    ]
    for (text, message) in cases {
      let error = try? #require(throws: BoxError.self) { try BoxCatalog.parse(Data(text.utf8), source: "src") }
      #expect(error?.message == message)
    }
    #expect(BoxCatalog.looksLikeCatalog(Data("  \n{\"name\"".utf8)))
    #expect(!BoxCatalog.looksLikeCatalog(Data([0x1f, 0x8b])))
  }
}

struct ChecksumTests {
  @Test(arguments: [
    (Checksum.Kind.md5, "900150983cd24fb0d6963f7d28e17f72"),
    (.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
    (.sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
  ])
  func knownDigestsOfABC(kind: Checksum.Kind, hex: String) throws {
    var whole = StreamingDigest(kind)
    whole.update(Data("abc".utf8))
    #expect(whole.finalizeHex() == hex)
    var pieces = StreamingDigest(kind)
    for part in ["a", "", "bc"] { pieces.update(Data(part.utf8)) }
    #expect(pieces.finalizeHex() == hex)
    try Checksum(parsing: "\(kind.rawValue):\(hex.uppercased())").verify(hex, what: "x")
  }

  @Test func badChecksumsAreNamed() throws {
    let short = try #require(throws: BoxError.self) { try Checksum(parsing: "sha256:abc") }
    #expect(short.message == "'abc' is not a sha256 checksum: it needs 64 hex digits")
    let type = try #require(throws: BoxError.self) { try Checksum(parsing: "crc32:abcd") }
    #expect(type.message == "checksum type 'crc32' is not known")
    #expect(throws: BoxError.self) { try Checksum(parsing: "ba7816bf") }
    let sum = try Checksum(kind: .md5, hex: "900150983cd24fb0d6963f7d28e17f72")
    let mismatch = try #require(throws: BoxError.self) { try sum.verify("00", what: "'x.box'") }
    #expect(mismatch.message == "checksum mismatch for 'x.box': expected md5:900150983cd24fb0d6963f7d28e17f72, got md5:00")
  }
}
