import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// Vagrant's box catalog JSON: parsing, choosing a version, and the messages.
struct BoxCatalogTests {
  func parse(_ json: String, source: String = "https://boxes.example/caravan/debian-12.json") throws -> BoxCatalog {
    try BoxCatalog.parse(Data(json.utf8), source: source)
  }

  /// A catalog from a list of (version, status, providers as JSON).
  func catalog(named name: String = "caravan/debian-12", _ versions: [(String, String?, String)]) throws -> BoxCatalog {
    let list = versions.map { version, status, providers in
      #"{"version": "\#(version)"\#(status.map { #", "status": "\#($0)""# } ?? ""), "providers": [\#(providers)]}"#
    }
    return try parse(#"{"name": "\#(name)", "versions": [\#(list.joined(separator: ", "))]}"#)
  }

  func libvirt(_ url: String, arch: String? = nil, isDefault: Bool = false) -> String {
    #"{"name": "libvirt", "url": "\#(url)""#
      + (arch.map { #", "architecture": "\#($0)""# } ?? "")
      + (isDefault ? #", "default_architecture": true"# : "") + "}"
  }

  // MARK: Parsing

  @Test func readsEveryField() throws {
    let c = try parse(
      """
      {"name": "caravan/debian-12", "description": "Debian 12 for libvirt",
       "versions": [{"version": "12.1.0", "status": "active", "description_markdown": "*new*",
         "providers": [{"name": "libvirt", "url": "https://boxes.example/x.box", "checksum_type": "sha256",
                        "checksum": "abc123", "architecture": "amd64", "default_architecture": true},
                       {"name": "virtualbox", "url": "vb.box"}]}]}
      """)
    #expect(c.name == "caravan/debian-12")
    #expect(c.description == "Debian 12 for libvirt")
    #expect(
      c.versions == [
        .init(
          version: "12.1.0", status: "active",
          providers: [
            .init(
              name: "libvirt", url: "https://boxes.example/x.box", checksumType: "sha256", checksum: "abc123",
              architecture: "amd64", defaultArchitecture: true),
            .init(
              name: "virtualbox", url: "vb.box", checksumType: nil, checksum: nil, architecture: nil,
              defaultArchitecture: false),
          ])
      ])
  }

  @Test func optionalPartsMayBeMissingOrNull() throws {
    let c = try parse(
      #"{"name": "a/b", "description": null, "versions": [{"version": "1", "status": null}, {"version": "2", "providers": null}]}"#
    )
    #expect(c.description == nil)
    #expect(c.versions.map(\.providers) == [[], []])
    #expect(c.versions[0].status == nil)
    #expect(try parse(#"{"name": "a/b", "versions": []}"#).versions.isEmpty)
  }

  @Test(arguments: [
    (
      "<html><body>Sign in</body></html>",
      "the box catalog 'SRC' is not JSON (it starts with '<html><body>Sign in</body></html>')"
    ),
    (
      "{\"name\": \"a/b\",\n \"versions\": [",
      "the box catalog 'SRC' is not JSON (it starts with '{\"name\": \"a/b\",…')"
    ),
    ("", "the box catalog 'SRC' is not JSON (it starts with '')"),
    (
      "\u{1f}\u{8b}\u{08}\u{00}",
      "the box catalog 'SRC' is not JSON (it starts with binary data: is it a .box file rather than its catalog?)"
    ),
    ("[1]", "the box catalog 'SRC' is not a JSON object"),
    (#"{"versions": []}"#, "the box catalog 'SRC' has no \"name\""),
    (#"{"name": 7, "versions": []}"#, "the box catalog 'SRC' has no \"name\""),
    (#"{"name": "a/b"}"#, "the box catalog 'SRC' has no \"versions\" list"),
    (#"{"name": "a/b", "versions": {"version": "1"}}"#, "the box catalog 'SRC' has no \"versions\" list"),
    (#"{"name": "a/b", "versions": [{"version": "1"}, "2"]}"#, "version #2 in the box catalog 'SRC' is not an object"),
    (#"{"name": "a/b", "versions": [{"providers": []}]}"#, "version #1 in the box catalog 'SRC' has no \"version\""),
    (#"{"name": "a/b", "versions": [{"version": null}]}"#, "version #1 in the box catalog 'SRC' has no \"version\""),
    (
      #"{"name": "a/b", "versions": [{"version": 1.5}]}"#,
      "version #1 in the box catalog 'SRC' has a \"version\" that is not a string"
    ),
    (
      #"{"name": "a/b", "versions": [{"version": "1", "providers": {"name": "libvirt"}}]}"#,
      "version 1 in the box catalog 'SRC' has a \"providers\" that is not a list"
    ),
    (
      #"{"name": "a/b", "versions": [{"version": "1", "providers": ["libvirt"]}]}"#,
      "a provider of version 1 in the box catalog 'SRC' is not an object"
    ),
    (
      #"{"name": "a/b", "versions": [{"version": "1", "providers": [{"url": "x.box"}]}]}"#,
      "a provider of version 1 in the box catalog 'SRC' has no \"name\""
    ),
    (
      #"{"name": "a/b", "versions": [{"version": "1", "providers": [{"name": "libvirt"}]}]}"#,
      "the libvirt provider of version 1 in the box catalog 'SRC' has no \"url\""
    ),
    (
      #"{"name": "a/b", "versions": [{"version": "1", "providers": [{"name": "libvirt", "url": ""}]}]}"#,
      "the libvirt provider of version 1 in the box catalog 'SRC' has no \"url\""
    ),
  ])
  func malformedCatalogsNameTheSourceAndTheFault(json: String, message: String) throws {
    let source = "/home/me/boxes/catalog.json"
    let error = try #require(throws: CaravanError.self) { try parse(json, source: source) }
    #expect(error.message == message.replacingOccurrences(of: "SRC", with: source))
    #expect(error.hint != nil)
  }

  @Test func tellsACatalogFromABoxByItsFirstBytes() {
    #expect(BoxCatalog.looksLikeCatalog(Data(#"{"name": "a/b"}"#.utf8)))
    #expect(BoxCatalog.looksLikeCatalog(Data(" \t\r\n{".utf8)))
    #expect(!BoxCatalog.looksLikeCatalog(Data()))
    #expect(!BoxCatalog.looksLikeCatalog(Data("   ".utf8)))
    #expect(!BoxCatalog.looksLikeCatalog(Data([0x1f, 0x8b, 0x08, 0x00])), "gzip")
    #expect(!BoxCatalog.looksLikeCatalog(Data("box.img\0\0\0".utf8)), "tar")
    #expect(!BoxCatalog.looksLikeCatalog(Data("[{}]".utf8)))
  }

  // MARK: Choosing a version

  @Test func picksTheNewestMatchingVersionByNumber() throws {
    let c = try catalog([
      ("12.9.0", nil, libvirt("9.box")), ("12.10.0", nil, libvirt("10.box")), ("11.5.0", nil, libvirt("11.box")),
    ])
    #expect(try c.select(constraint: nil, architecture: "amd64").version == "12.10.0")
    #expect(try c.select(constraint: VersionConstraint(parsing: "< 12.10"), architecture: "amd64").version == "12.9.0")
    #expect(
      try c.select(constraint: VersionConstraint(parsing: "~> 11.0"), architecture: "amd64").provider.url == "11.box")
    #expect(try c.select(constraint: VersionConstraint(parsing: "11.5"), architecture: "amd64").version == "11.5.0")
  }

  @Test func skipsInactiveAndUnnumberedVersionsAndOtherProviders() throws {
    let c = try catalog([
      ("1.0.0", "active", libvirt("1.box")),
      ("1.1.0", nil, #"{"name": "virtualbox", "url": "vb.box"}"#),
      ("1.2.0", "revoked", libvirt("revoked.box")),
      ("1.3.0", "unreleased", libvirt("unreleased.box")),
      ("latest", nil, libvirt("latest.box")),
      ("v2.0", nil, libvirt("v2.box")),
    ])
    let chosen = try c.select(constraint: nil, architecture: "amd64")
    #expect(chosen.version == "1.0.0")
    #expect(chosen.provider.url == "1.box")
    let vb = try c.select(constraint: nil, provider: "virtualbox", architecture: "amd64")
    #expect(vb.version == "1.1.0")
  }

  @Test func aProviderWithoutArchitectureFitsAnyHost() throws {
    let none = try catalog([("1", nil, libvirt("any.box"))])
    let unknown = try catalog([("1", nil, libvirt("unknown.box", arch: "unknown"))])
    for host in ["amd64", "arm64", "riscv64"] {
      #expect(try none.select(constraint: nil, architecture: host).provider.url == "any.box")
      #expect(try unknown.select(constraint: nil, architecture: host).provider.url == "unknown.box")
    }
  }

  @Test func theHostsOwnArchitectureWinsThenTheDefault() throws {
    let c = try catalog([
      (
        "1", nil,
        [
          libvirt("plain.box"), libvirt("legacy.box", arch: "unknown", isDefault: true),
          libvirt("arm.box", arch: "arm64"), libvirt("amd.box", arch: "amd64"),
        ].joined(separator: ", ")
      )
    ])
    #expect(try c.select(constraint: nil, architecture: "amd64").provider.url == "amd.box")
    #expect(try c.select(constraint: nil, architecture: "arm64").provider.url == "arm.box")
    #expect(
      try c.select(constraint: nil, architecture: "riscv64").provider.url == "legacy.box",
      "default among those that fit")
    let noDefault = try catalog([
      ("1", nil, [libvirt("plain.box"), libvirt("arm.box", arch: "arm64")].joined(separator: ", "))
    ])
    #expect(try noDefault.select(constraint: nil, architecture: "amd64").provider.url == "plain.box")
    // A default for another architecture does not fit this host.
    let otherDefault = try catalog([
      ("1", nil, [libvirt("arm.box", arch: "arm64", isDefault: true), libvirt("plain.box")].joined(separator: ", "))
    ])
    #expect(try otherDefault.select(constraint: nil, architecture: "amd64").provider.url == "plain.box")
  }

  @Test func anOlderVersionIsChosenWhenTheNewestIsNotBuiltForThisHost() throws {
    let c = try catalog([
      ("2.0.0", nil, libvirt("arm.box", arch: "arm64")), ("1.0.0", nil, libvirt("amd.box", arch: "amd64")),
    ])
    #expect(try c.select(constraint: nil, architecture: "amd64").version == "1.0.0")
    #expect(try c.select(constraint: nil, architecture: "arm64").version == "2.0.0")
  }

  // MARK: Messages

  @Test func noVersionMatchesTheConstraint() throws {
    let c = try catalog([
      ("12.1.0", nil, libvirt("b.box")), ("12.0.0", nil, libvirt("a.box")),
      ("12.2.0", nil, #"{"name": "virtualbox", "url": "vb.box"}"#), ("13.0.0", "revoked", libvirt("r.box")),
    ])
    let error = try #require(throws: CaravanError.self) {
      try c.select(constraint: VersionConstraint(parsing: "~> 13.0"), architecture: "amd64")
    }
    #expect(
      error.message
        == "box 'caravan/debian-12' has no version matching '~> 13.0' with a libvirt provider; versions with one: 12.0.0, 12.1.0"
    )
    #expect(error.hint == "Change the version constraint (`version:` in the Machinefile, or --box-version).")
  }

  @Test func noProviderForLibvirt() throws {
    let c = try catalog(
      named: "x",
      [
        ("2", nil, #"{"name": "vmware_desktop", "url": "v.box"}, {"name": "virtualbox", "url": "vb.box"}"#),
        ("1", nil, #"{"name": "virtualbox", "url": "vb1.box"}"#),
      ])
    let error = try #require(throws: CaravanError.self) { try c.select(constraint: nil, architecture: "amd64") }
    #expect(error.message == "box 'x' has no libvirt provider (it has: virtualbox, vmware_desktop)")
    #expect(error.hint?.contains("Caravan runs libvirt boxes only") == true)
    let empty = try catalog(named: "x", [("1", nil, "")])
    let none = try #require(throws: CaravanError.self) { try empty.select(constraint: nil, architecture: "amd64") }
    #expect(none.message == "box 'x' has no libvirt provider (it has: none)")
  }

  @Test func noProviderForThisArchitecture() throws {
    let c = try catalog(
      named: "x",
      [
        ("2", nil, [libvirt("a2.box", arch: "amd64"), libvirt("p.box", arch: "ppc64le")].joined(separator: ", ")),
        ("1", nil, libvirt("a1.box", arch: "amd64")),
      ])
    let error = try #require(throws: CaravanError.self) { try c.select(constraint: nil, architecture: "arm64") }
    #expect(error.message == "box 'x' has no libvirt provider for architecture 'arm64' (it has: amd64, ppc64le)")
    #expect(error.hint?.contains("Use a box built for arm64") == true)
  }

  @Test func noActiveVersionAtAll() throws {
    let revoked = try catalog(named: "x", [("1.0", "revoked", libvirt("a.box")), ("nightly", nil, libvirt("n.box"))])
    let error = try #require(throws: CaravanError.self) { try revoked.select(constraint: nil, architecture: "amd64") }
    #expect(
      error.message
        == "box 'x' has no active version with a number like 1.2.3 (its catalog lists: 1.0 (revoked), nightly (active))"
    )
    let empty = try catalog(named: "x", [])
    let none = try #require(throws: CaravanError.self) { try empty.select(constraint: nil, architecture: "amd64") }
    #expect(none.message == "box 'x' has no versions in its catalog")
  }

  // MARK: Outdated

  @Test func newerVersionsNewestFirst() throws {
    let c = try catalog([
      ("1.0.0", nil, libvirt("1.box")), ("1.2.0", nil, libvirt("12.box")), ("1.10.0", nil, libvirt("110.box")),
      ("1.11.0", "revoked", libvirt("r.box")), ("1.12.0", nil, #"{"name": "virtualbox", "url": "vb.box"}"#),
      ("2.0.0", nil, libvirt("arm.box", arch: "arm64")), ("3.0.0", nil, libvirt("3.box")),
    ])
    #expect(
      c.newer(than: "1.0.0", constraint: nil, architecture: "amd64").map(\.version) == ["3.0.0", "1.10.0", "1.2.0"])
    #expect(
      c.newer(than: "1.0.0", constraint: nil, architecture: "arm64").map(\.version) == [
        "3.0.0", "2.0.0", "1.10.0", "1.2.0",
      ])
    #expect(
      c.newer(than: "1.0", constraint: try VersionConstraint(parsing: "~> 1.0"), architecture: "amd64").map(\.version)
        == ["1.10.0", "1.2.0"])
    #expect(c.newer(than: "1.10", constraint: nil, architecture: "amd64").map(\.provider.url) == ["3.box"])
    #expect(c.newer(than: "3.0.0", constraint: nil, architecture: "amd64").isEmpty)
    #expect(c.newer(than: "9", constraint: nil, architecture: "amd64").isEmpty)
    #expect(
      c.newer(than: "0", constraint: nil, provider: "virtualbox", architecture: "amd64").map(\.version) == ["1.12.0"])
    // A box added from a file has no real version: everything is newer.
    #expect(c.newer(than: "unknown", constraint: nil, architecture: "amd64").count == 4)
  }

  // MARK: Host

  @Test func hostArchitectureUsesVagrantsNames() {
    #expect(HostArchitecture.name(machine: "x86_64") == "amd64")
    #expect(HostArchitecture.name(machine: "aarch64") == "arm64")
    #expect(HostArchitecture.name(machine: "arm64") == "arm64")
    #expect(HostArchitecture.name(machine: "i686") == "i386")
    #expect(HostArchitecture.name(machine: "ppc64le") == "ppc64le")
    #expect(HostArchitecture.name(machine: "riscv64") == "riscv64")
    #if arch(x86_64)
      #expect(HostArchitecture.current == "amd64")
    #elseif arch(arm64)
      #expect(HostArchitecture.current == "arm64")
    #endif
  }
}
