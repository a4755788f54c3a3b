import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// The image index: its format, the shipped one, lookups.
struct ImageIndexTests {
  func parse(_ json: String) throws -> ImageIndex {
    try ImageIndex.parse(Data(json.utf8), source: "test.json")
  }

  let good =
    #"{"name": "debian/12", "arch": "amd64", "url": "https://h/d.qcow2", "checksum_url": "https://h/SHA512SUMS"}"#

  @Test func theShippedIndexHasTheImagesTheDocsName() throws {
    let index = try ImageIndex.shipped()
    let names = [
      "debian/12", "debian/13", "ubuntu/24.04", "ubuntu/22.04", "fedora/41", "almalinux/9", "rockylinux/9",
      "archlinux/latest",
    ]
    #expect(index.names == names)
    for name in names {
      let entry = try index.entry(named: name, arch: "amd64")
      #expect(entry.url.hasPrefix("https://") && entry.checksumURL.hasPrefix("https://"), "\(entry)")
      #expect(entry.firmware == .bios)
    }
    #expect(try index.entry(named: "debian/12", arch: "amd64").checksumURL.hasSuffix("/SHA512SUMS"))
    // The embedded string is the repository's JSON file, as the build plugin wrote it.
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/Boxes/Resources/images.json")
    #expect(try ImageIndex.parse(Data(contentsOf: file), source: "the shipped image index") == index)
  }

  @Test func firmwareDefaultsToBIOSAndUEFIIsRead() throws {
    let index = try parse(
      #"{"version": 1, "images": [\#(good), {"name": "x/uefi", "arch": "amd64", "url": "file:///x.img", "checksum_url": "file:///S", "firmware": "uefi"}]}"#
    )
    #expect(index.entries.map(\.firmware) == [.bios, .uefi])
  }

  @Test func anotherVersionIsRefused() throws {
    let error = try #require(throws: CaravanError.self) { try parse(#"{"version": 2, "images": []}"#) }
    #expect(error.message == "test.json has version 2; this Caravan reads version 1")
    let none = try #require(throws: CaravanError.self) { try parse(#"{"images": []}"#) }
    #expect(none.message.contains("has version (none)"))
  }

  @Test(arguments: [
    (
      #"{"name": "debian/12", "arch": "amd64", "url": "https://h/d.qcow2"}"#,
      #"entry 2 ("debian/12") of test.json has no "checksum_url""#
    ),
    (
      #"{"arch": "amd64", "url": "https://h/d", "checksum_url": "https://h/S"}"#, #"entry 2 of test.json has no "name""#
    ),
    (
      #"{"name": "a/b", "arch": "amd64", "url": "ftp://h/d", "checksum_url": "https://h/S"}"#,
      #"entry 2 ("a/b") of test.json has the "url" 'ftp://h/d', which is not an http, https or file URL"#
    ),
    (
      #"{"name": "a/b", "arch": "amd64", "url": "https://h/d", "checksum_url": "https://h/S", "firmware": "efi"}"#,
      #"entry 2 ("a/b") of test.json has the firmware 'efi'; it is 'bios' or 'uefi'"#
    ),
    (
      #"{"name": "plain", "arch": "amd64", "url": "https://h/d", "checksum_url": "https://h/S"}"#,
      #"entry 2 ("plain") of test.json has the name 'plain', which is not like 'debian/12'"#
    ),
    (
      #"{"name": "a/b", "arch": 64, "url": "https://h/d", "checksum_url": "https://h/S"}"#,
      #"entry 2 ("a/b") of test.json has a "arch" value that is not a text"#
    ),
    (#""debian/12""#, "entry 2 of test.json is not a JSON object"),
  ])
  func aMalformedEntryIsRefusedByName(entry: String, message: String) throws {
    let error = try #require(throws: CaravanError.self) {
      try parse(#"{"version": 1, "images": [\#(good), \#(entry)]}"#)
    }
    #expect(error.message == message)
  }

  @Test func aRepeatedNameAndArchIsRefused() throws {
    let error = try #require(throws: CaravanError.self) {
      try parse(#"{"version": 1, "images": [\#(good), \#(good)]}"#)
    }
    #expect(error.message == "entry 2 of test.json repeats 'debian/12' for amd64")
  }

  @Test func lookupByNameAndArchitecture() throws {
    let arm = #"{"name": "debian/12", "arch": "arm64", "url": "https://h/arm.qcow2", "checksum_url": "https://h/S"}"#
    let index = try parse(#"{"version": 1, "images": [\#(good), \#(arm)]}"#)
    #expect(index.names == ["debian/12"])
    #expect(try index.entry(named: "debian/12", arch: "arm64").url == "https://h/arm.qcow2")
    #expect(try index.entry(named: "debian/12", arch: "amd64").url == "https://h/d.qcow2")
    let arch = try #require(throws: CaravanError.self) { try index.entry(named: "debian/12", arch: "riscv64") }
    #expect(arch.message == "test.json has 'debian/12' for amd64, arm64, not for riscv64")
  }

  @Test func anUnknownNameListsTheIndexsNames() throws {
    let error = try #require(throws: CaravanError.self) { try ImageIndex.shipped().entry(named: "debian/11") }
    #expect(error.message == "'debian/11' is not in the shipped image index")
    #expect(error.hint?.contains("Did you mean 'debian/12'?") == true, "\(error)")
    #expect(error.hint?.contains("ubuntu/24.04, ubuntu/22.04, fedora/41") == true, "\(error)")
  }

  @Test func theEnvironmentReplacesTheShippedIndex() throws {
    let path = NSTemporaryDirectory() + "caravan-index-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(#"{"version": 1, "images": [\#(good)]}"#.utf8).write(to: URL(fileURLWithPath: path))
    let index = try ImageIndex.load(environment: ["CARAVAN_IMAGE_INDEX": path]) { _ in Data() }
    #expect(index.names == ["debian/12"] && index.source.contains(path))
    let missing = try #require(throws: CaravanError.self) {
      try ImageIndex.load(environment: ["CARAVAN_IMAGE_INDEX": path + ".gone"]) { _ in Data() }
    }
    #expect(missing.message.contains("CARAVAN_IMAGE_INDEX"))
    #expect(try ImageIndex.load(environment: [:]) { _ in Data() }.names.count == 8)
  }
}
