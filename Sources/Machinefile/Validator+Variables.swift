// `var NAME, default: VALUE` (top level, Machinefiles and Boxfiles alike), and the names
// `--var` and the var files set, each of which a `var` must declare.

import Spec
import Support

extension Validator {
  /// Checks a `var` statement: a bare name, declared once, not `index` or `name`, an
  /// optional `default:` scalar; an error when no source gives it a value (naming the
  /// sources: var files only where they are read, in Machinefiles).
  func checkVar(_ statement: Statement, varFiles: Bool, isSet: (String) -> Bool) {
    let args = arguments(
      of: statement, scope: .topLevel, positional: 1, example: "var mirror, default: \"http://deb.debian.org/debian\"",
      options: ["default"], needs: "a name")
    guard let value = args.values.first else { return }
    guard case .name(let name) = value.kind, isVariableName(name) else {
      error("the name of 'var' must be a bare name like `var mirror`, got \(value.described)", at: value)
      return
    }
    if name == "index" || name == "name" {
      error("'\(name)' is the machine's own `${\(name)}`; give the variable another name", at: value)
      return
    }
    if let first = declaredVariables[name] {
      error("duplicate var '\(name)'; it is already declared at \(first); remove one of them", at: value)
      return
    }
    declaredVariables[name] = statement.location
    if let option = args.options["default"] {
      switch option.value.kind {
      case .string, .integer, .size, .duration, .bool: break
      default:
        error(
          "'default:' of 'var \(name)' expects a string, number, size, duration or boolean, got \(option.value.described), e.g. `var \(name), default: \"…\"`",
          at: option.value)
        return
      }
    }
    if !isSet(name) {
      let files = varFiles ? "a line `\(name)=VALUE` in Machinefile.vars or a `--var-file`, " : ""
      error(
        "var '\(name)' has no value: give it one with `--var \(name)=VALUE`, \(files)a `default:`, or the environment variable \(name)",
        at: statement)
    }
  }

  /// Every name `--var` or a var file sets must be declared by a `var` (a typo otherwise);
  /// and a var file's lines that are not `NAME=VALUE` are reported.
  func checkVariableInputs(_ layers: [VariableLayer]) {
    let declared = declaredVariables.keys.sorted()
    for layer in layers {
      var found = layer.problems
      for name in layer.names where declaredVariables[name] == nil {
        let hint = Suggestions.didYouMean(name, in: declared)
        let fix = hint.isEmpty ? "; declare it with `var \(name), default: …` or remove it" : hint
        guard let file = layer.file, let entry = layer.entries[name] else {
          found.append(
            Diagnostic(
              message: "--var \(name) sets no `var` of the Machinefile\(fix)", location: .init(line: 0, column: 0),
              file: fileName))
          continue
        }
        found.append(
          Diagnostic(
            message: "'\(name)' sets no `var` of the Machinefile\(fix)",
            location: SourceLocation(
              line: entry.line, column: 1 + entry.sourceLine.prefix { $0 == " " || $0 == "\t" }.count),
            length: name.count, file: file, sourceLine: entry.sourceLine))
      }
      // In the file's order (problems and unknown names are found apart).
      for diagnostic in found.enumerated().sorted(by: {
        ($0.element.location.line, $0.offset) < ($1.element.location.line, $1.offset)
      }) {
        report(diagnostic.element)
      }
    }
  }
}
