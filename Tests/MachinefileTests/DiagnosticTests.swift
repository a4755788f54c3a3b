import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

@Suite struct DiagnosticTests {
  @Test func rendersLikeACompiler() {
    let diagnostic = Diagnostic(
      message: "unknown setting 'memroy' in machine \"web\"; did you mean 'memory'?",
      location: SourceLocation(line: 12, column: 3), length: 6, file: "Machinefile", sourceLine: "  memroy 2GiB")
    #expect(
      diagnostic.rendered == """
        Machinefile:12:3: error: unknown setting 'memroy' in machine "web"; did you mean 'memory'?
          memroy 2GiB
          ^~~~~~
        """)
  }

  @Test func withoutSourceLineOnlyTheHeader() {
    let diagnostic = Diagnostic(
      message: "'cpus' must be between 1 and 1024, got 0", location: SourceLocation(line: 14, column: 11),
      file: "Machinefile")
    #expect(diagnostic.rendered == "Machinefile:14:11: error: 'cpus' must be between 1 and 1024, got 0")
  }

  @Test func caretIsClippedToTheLineAndKeepsTabs() {
    let diagnostic = Diagnostic(
      severity: .warning, message: "m", location: SourceLocation(line: 1, column: 3), length: 50, file: "f",
      sourceLine: "\tab")
    #expect(diagnostic.rendered == "f:1:3: warning: m\n\tab\n\t ^")
  }

  @Test func caretAfterTheEndOfTheLine() {
    let diagnostic = Diagnostic(
      message: "m", location: SourceLocation(line: 1, column: 5), length: 1, file: "f", sourceLine: "ab")
    #expect(diagnostic.rendered == "f:1:5: error: m\nab\n  ^")
  }

  @Test func placeIsTheFileNameAsGiven() {
    let result = Machinefile.check(source: "cpus 0", fileName: "sub/dir/Machinefile", environment: [:])
    #expect(result.spec == nil)
    #expect(
      result.diagnostics.map(\.rendered) == [
        "sub/dir/Machinefile:1:6: error: 'cpus' must be between 1 and 1024, got 0\ncpus 0\n     ^"
      ])
  }

  @Test func errorDescriptionJoinsAllDiagnostics() {
    do {
      _ = try Machinefile.load(source: "cpus 0\nmemory 1MiB", fileName: "Machinefile", environment: [:])
      Issue.record("expected an error")
    } catch let error as MachinefileError {
      #expect(error.diagnostics.count == 2)
      #expect(error.description == error.diagnostics.map(\.rendered).joined(separator: "\n"))
      #expect(error.description.components(separatedBy: "\n").count == 6)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func encodesAsJSON() throws {
    let diagnostic = Diagnostic(
      message: "m", location: SourceLocation(line: 2, column: 4), length: 3, file: "Machinefile", sourceLine: "abc")
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = String(decoding: try encoder.encode(diagnostic), as: UTF8.self)
    #expect(
      json
        == #"{"column":4,"file":"Machinefile","length":3,"line":2,"message":"m","severity":"error","sourceLine":"abc"}"#
    )
  }

  @Test func didYouMeanByEditDistance() {
    #expect(Suggestions.closest(to: "memroy", in: Validator.topLevelSettings) == "memory")
    #expect(Suggestions.closest(to: "Memory", in: Validator.topLevelSettings) == "memory")
    #expect(Suggestions.closest(to: "bot_timeout", in: Validator.topLevelSettings) == "boot_timeout")
    #expect(Suggestions.closest(to: "frobnicate", in: Validator.topLevelSettings) == nil)
    #expect(Suggestions.editDistance("kitten", "sitting") == 3)
    #expect(Suggestions.editDistance("ab", "ba") == 1)
  }
}
