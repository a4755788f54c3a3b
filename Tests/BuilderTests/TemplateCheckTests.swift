import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import Builder

/// `TemplateCheck`: what `caravan validate` and `caravan build` report about a Boxfile's
/// templates before anything starts. Golden/templates holds a Boxfile and its templates;
/// Boxfile.expected the exact diagnostics (MACHINEFILE_RECORD_GOLDEN=1 rewrites it).
struct TemplateCheckTests {
  static func folder() throws -> URL {
    try #require(Bundle.module.resourceURL).appendingPathComponent("Golden/templates")
  }

  @Test func unknownPlaceholdersAreDiagnosticsAtTheTemplatesLineAndColumn() throws {
    let folder = try Self.folder()
    let spec = try Boxfile.load(path: folder.appendingPathComponent("Boxfile").path, variables: [:], environment: [:])
    let diagnostics = TemplateCheck.diagnostics(of: spec) { Machinefile.displayName(of: $0, from: folder.path) }
    let actual = diagnostics.map(\.rendered).joined(separator: "\n") + "\n"
    if ProcessInfo.processInfo.environment["MACHINEFILE_RECORD_GOLDEN"] == "1" {
      let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/templates/Boxfile.expected")
      try actual.write(to: source, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: folder.appendingPathComponent("Boxfile.expected"), encoding: .utf8)
    #expect(actual == expected, "differs:\n\(actual)")
    #expect(diagnostics.allSatisfy { $0.severity == .error })
  }

  /// The names checked are the names a build gives values: one list for both.
  @Test func theKnownNamesAreTheRenderedOnes() throws {
    var spec = BuildSpec(
      file: "/b/Boxfile", directory: "/b", name: "me/box", version: "1.0", strategy: .installer,
      output: BuildSpec.Output(path: "/b/out.box"))
    spec.variables = ["mirror": "http://m", "user": "overridden"]
    let build = BoxBuild(
      spec: spec, options: BuildOptions(cacheDirectory: "/nonexistent", uri: "test:///default", lockDirectory: "/x"))
    #expect(Set(build.templateValues(port: 8000).keys) == Set(TemplateCheck.knownNames(spec)))
    #expect(TemplateCheck.knownNames(spec).count == TemplateRenderer.builtInNames.count + 1)
  }

  /// What the check accepts, the renderer renders (and what it refuses, the renderer refuses).
  @Test func theCheckAndTheRendererAgree() throws {
    let values = Dictionary(uniqueKeysWithValues: TemplateRenderer.builtInNames.map { ($0, "v") })
    for text in ["{{ user }}", "{{ usr }}", "{{ 1 }}", "{{ user", "a {{b}} c", "{ {user} }"] {
      let issues = TemplateRenderer.issues(in: text, known: Array(values.keys))
      let rendered = try? TemplateRenderer.render(text, file: "t", values: values)
      #expect(issues.isEmpty == (rendered != nil), "\(text)")
    }
  }
}
