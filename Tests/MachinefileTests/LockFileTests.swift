import Foundation
import Spec
import Testing

@testable import Machinefile

/// `Machinefile.lock`: written as JSON with sorted keys and one final newline (the same
/// text for the same boxes, whatever order they were resolved in), read back whole, and a
/// broken one refused with each problem at its line and column.
struct LockFileTests {
  static let debian = LockedBox(
    name: "caravan/debian-12", version: "12.1.0", source: LockedSource(kind: .catalog, location: "https://x/c.json"),
    sha256: String(repeating: "a", count: 64), disks: ["box.img": String(repeating: "b", count: 64)])
  static let image = LockedBox(
    name: "debian/12", version: "0",
    source: LockedSource(kind: .imageIndex, location: "https://cloud.debian.org/d \"q\".qcow2"), sha256: nil,
    disks: ["box.img": String(repeating: "c", count: 64)])

  @Test func theTextIsSortedStableAndReadsBack() throws {
    let one = LockFile.render(BoxLock(boxes: [Self.image, Self.debian]))
    let other = LockFile.render(BoxLock(boxes: [Self.debian, Self.image]))
    #expect(one == other, "the order the boxes were resolved in does not show")
    #expect(one.hasSuffix("}\n") && !one.hasSuffix("\n\n"), "one final newline")
    let keys = one.split(separator: "\n").compactMap { line -> String? in
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard trimmed.hasPrefix("\""), let end = trimmed.dropFirst().firstIndex(of: "\"") else { return nil }
      return String(trimmed[trimmed.index(after: trimmed.startIndex)..<end])
    }
    #expect(keys.prefix(6) == ["boxes", "disks", "box.img", "name", "provider", "sha256"], "\(keys)")
    #expect(one.contains(#""location": "https://cloud.debian.org/d \"q\".qcow2""#), "quotes escaped")
    // Foundation reads it as the JSON it is, and Caravan reads back what it wrote.
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(one.utf8)) as? [String: Any])
    #expect(object["version"] as? Int == 1)
    let (lock, problems) = LockFile.parse(one, file: "Machinefile.lock")
    #expect(problems.isEmpty, "\(problems.map(\.rendered))")
    #expect(lock == BoxLock(boxes: [Self.debian, Self.image]))
    #expect(!one.contains("\"sha256\": null"), "an unknown download digest is left out")
  }

  @Test func anEntryIsFoundByNameAndTheVersionsTheBoxLineAdmits() throws {
    var newer = Self.debian
    newer.version = "12.2.0"
    let lock = BoxLock(boxes: [Self.debian, newer])
    #expect(lock.entry(for: BoxRequirement(name: "caravan/debian-12"))?.version == "12.2.0")
    let constraint = try VersionConstraint(parsing: "< 12.2")
    #expect(lock.entry(for: BoxRequirement(name: "caravan/debian-12", version: constraint))?.version == "12.1.0")
    #expect(lock.entry(for: BoxRequirement(name: "other")) == nil)
  }

  @Test func aBrokenLockIsRefusedAtItsLineAndColumn() {
    func problems(_ text: String) -> [String] {
      LockFile.parse(text, file: "Machinefile.lock").1.map(\.rendered)
    }
    let notJSON = problems("{\n  \"boxes\": [\n    {\"name\": \"a\",,}\n  ],\n  \"version\": 1\n}\n")
    #expect(notJSON.count == 1 && notJSON[0].hasPrefix("Machinefile.lock:3:"), "\(notJSON)")
    #expect(notJSON.first?.contains("`caravan lock --update` writes it anew") == true)

    let version = problems("{\"boxes\": [], \"version\": 2}\n")
    #expect(version.first?.contains("\"version\" is '2'; this Caravan reads version 1") == true, "\(version)")

    let text = """
      {
        "boxes": [
          {
            "disks": {"box.img": "XYZ"},
            "name": "a",
            "provider": "libvirt",
            "source": {"kind": "ftp", "location": "x"},
            "version": "1"
          }
        ],
        "version": 1
      }

      """
    let entry = problems(text)
    #expect(
      entry.contains {
        $0.hasPrefix(
          "Machinefile.lock:4:28: error: the digest of disk 'box.img' of box 'a' must be 64 lowercase hex digits")
      }, "\(entry)")
    #expect(
      entry.contains {
        $0.hasPrefix(
          "Machinefile.lock:7:26: error: the source kind 'ftp' of box 'a' is none of catalog, url, file, image_index, oci, installed"
        )
      }, "\(entry)")
    let missing = problems("{\"boxes\": [{\"name\": \"a\", \"version\": \"1\"}], \"version\": 1}")
    #expect(missing.contains { $0.contains("box 'a' has no \"provider\"") }, "\(missing)")
    #expect(missing.contains { $0.contains("box 'a' has no \"source\"") }, "\(missing)")
  }
}
