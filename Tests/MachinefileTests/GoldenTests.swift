// Golden tests: each Golden/NAME.machinefile is loaded and the result compared with
// Golden/NAME.expected: the exact rendered diagnostics, or `ok` and a dump of the lowered
// spec for a valid file. Set MACHINEFILE_RECORD_GOLDEN=1 to rewrite the expected files.

import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

/// The fixed environment golden files are checked against.
let goldenEnvironment = [
  "DB_ROLE": "replica", "BOX_URL": "https://boxes.example.com/debian.box", "EMPTY": "", "USER": "dev",
]

func goldenDirectory() throws -> URL {
  try #require(Bundle.module.resourceURL).appendingPathComponent("Golden")
}

func goldenNames() throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: goldenDirectory().path)
    .filter { $0.hasSuffix(".machinefile") }
    .map { String($0.dropLast(".machinefile".count)) }
    .sorted()
}

func goldenOutput(for name: String) throws -> String {
  let url = try goldenDirectory().appendingPathComponent("\(name).machinefile")
  let source = try String(contentsOf: url, encoding: .utf8)
  let (spec, diagnostics) = Machinefile.check(
    source: source, fileName: "Machinefile", environment: goldenEnvironment)
  if let spec, diagnostics.isEmpty {
    return "ok\n" + dump(spec) + "\n"
  }
  return diagnostics.map(\.rendered).joined(separator: "\n") + "\n"
}

@Suite struct GoldenTests {
  @Test func everyGoldenFileHasAnExpectation() throws {
    let names = try goldenNames()
    #expect(names.count >= 30)
    for name in names {
      let expected = try goldenDirectory().appendingPathComponent("\(name).expected")
      #expect(FileManager.default.fileExists(atPath: expected.path), "missing \(name).expected")
    }
  }

  @Test(arguments: try goldenNames())
  func golden(name: String) throws {
    let actual = try goldenOutput(for: name)
    if ProcessInfo.processInfo.environment["MACHINEFILE_RECORD_GOLDEN"] == "1" {
      let sourceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
      try actual.write(to: sourceFolder.appendingPathComponent("\(name).expected"), atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(
      contentsOf: goldenDirectory().appendingPathComponent("\(name).expected"), encoding: .utf8)
    #expect(actual == expected, "golden \(name) differs:\n\(actual)")
  }
}
