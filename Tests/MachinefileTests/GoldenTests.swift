// Golden tests: each Golden/NAME.machinefile is loaded and the result compared with
// Golden/NAME.expected: the exact rendered diagnostics, or for a valid file its notes, `ok`
// and a dump of the lowered spec. A `NAME.vars` beside the input is read as its Machinefile.vars. Set MACHINEFILE_RECORD_GOLDEN=1 to rewrite the expected files.

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

/// The golden inputs' names: `NAME.machinefile` and `NAME.boxfile` (read as a Boxfile).
func goldenNames() throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: goldenDirectory().path)
    .filter { $0.hasSuffix(".machinefile") || $0.hasSuffix(".boxfile") }
    .map { ($0 as NSString).deletingPathExtension }
    .sorted()
}

func goldenOutput(for name: String) throws -> String {
  let boxfile = try goldenDirectory().appendingPathComponent("\(name).boxfile")
  if FileManager.default.fileExists(atPath: boxfile.path) {
    let (spec, diagnostics) = try Boxfile.check(
      path: boxfile.path, shownAs: "Boxfile", variables: [:], environment: goldenEnvironment)
    if let spec, diagnostics.isEmpty { return "ok \(spec.name) \(spec.version) \(spec.bootCommand)\n" }
    return diagnostics.map(\.rendered).joined(separator: "\n") + "\n"
  }
  let url = try goldenDirectory().appendingPathComponent("\(name).machinefile")
  // Through the file, as commands read it: a byte that is not UTF-8 is a diagnostic too.
  let (spec, diagnostics): (ProjectSpec?, [Diagnostic])
  do {
    let source = try Machinefile.read(url.path, shownAs: "Machinefile")
    let vars = try goldenDirectory().appendingPathComponent("\(name).vars")
    let layers =
      FileManager.default.fileExists(atPath: vars.path)
      ? [
        VariableLayer.parse(
          try String(contentsOf: vars, encoding: .utf8), source: "Machinefile.vars", file: "Machinefile.vars")
      ]
      : []
    (spec, diagnostics) = Machinefile.check(
      source: source, fileName: "Machinefile", environment: goldenEnvironment, layers: layers,
      directory: try goldenDirectory().path)
  } catch let error as MachinefileError {
    (spec, diagnostics) = (nil, error.diagnostics)
  }
  if let spec, !diagnostics.contains(where: { $0.severity == .error }) {
    return diagnostics.map { $0.rendered + "\n" }.joined() + "ok\n" + dump(spec) + "\n"
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
