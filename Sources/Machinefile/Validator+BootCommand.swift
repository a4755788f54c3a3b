// A Boxfile's `boot_command`, checked with the grammar the build types it with
// (`BootCommand` in Spec), each problem reported at its place in the Boxfile: the string's
// line, and the column of the offending character in the source, escapes and `${…}` counted
// as written.

import Spec
import Support

extension Validator {
  /// Checks the expanded strings of `boot_command` (`elements` are their values as written).
  func checkBootCommand(_ elements: [Value], literals: [StringLiteral], expansion: Expansion) {
    guard elements.count == literals.count, literals.allSatisfy(isExpandable) else { return }
    let strings = literals.map(expansion.expand)
    for problem in BootCommand.problems(in: strings) {
      let index = problem.string - 1
      let element = elements[index]
      let start = sourceLocation(
        ofCharacter: problem.column, in: element, literal: literals[index], expansion: expansion)
      let end = sourceLocation(
        ofCharacter: problem.column + problem.length - 1, in: element, literal: literals[index], expansion: expansion)
      let length = end.line == start.line && end.column >= start.column ? end.column - start.column + 1 : 1
      error("boot_command: \(problem.detail); \(problem.fix)", at: start, length: length)
    }
  }

  /// Where the `column`th character (1-based) of a one-line string's expanded text was
  /// written: escapes (`\n`, `\u{…}`) and `$$` count as written, a character that came from
  /// `${…}` is placed on the `$`. A multi-line string is placed at its start.
  func sourceLocation(ofCharacter column: Int, in value: Value, literal: StringLiteral, expansion: Expansion)
    -> SourceLocation
  {
    guard case .string(_, false) = value.kind, let line = lines.line(value.location.line) else {
      return value.location
    }
    let source = Array(line.unicodeScalars)
    // Index into `source` of the next character, just after the opening quote.
    var position = value.location.column
    var character = 1
    for part in literal.parts {
      switch part {
      case .text(let text):
        for written in text {
          if character == column { return SourceLocation(line: value.location.line, column: position + 1) }
          position += sourceWidth(of: written, in: source, at: position)
          character += 1
        }
      case .environment(_, _, let location, let length), .machineIndex(let location, let length),
        .machineName(let location, let length), .invalid(_, let location, let length):
        let count = expansion.expand(StringLiteral(parts: [part])).count
        if (character..<character + count).contains(column) { return location }
        position = location.column - 1 + length
        character += count
      }
    }
    return value.location
  }

  /// How many source scalars wrote `character` at `position`: an escape, `$$`, or the character.
  private func sourceWidth(of character: Character, in source: [Unicode.Scalar], at position: Int) -> Int {
    guard position < source.count else { return 1 }
    if source[position] == "$", position + 1 < source.count, source[position + 1] == "$" { return 2 }
    guard source[position] == "\\", position + 1 < source.count else { return character.unicodeScalars.count }
    if source[position + 1] == "u", let close = source[position...].firstIndex(of: "}") {
      return close - position + 1
    }
    return 2
  }
}
