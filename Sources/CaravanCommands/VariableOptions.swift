import ArgumentParser
import Machinefile

/// `--var NAME=VALUE` and `--var-file FILE`: values for the Machinefile's `var`s, on every
/// command that reads it.
struct VariableOptions: ParsableArguments {
  @Option(
    name: .customLong("var"), parsing: .singleValue,
    help: ArgumentHelp("Set a Machinefile `var` (repeatable; wins over every other source).", valueName: "NAME=VALUE"))
  var pairs: [String] = []
  @Option(
    name: .customLong("var-file"), parsing: .singleValue,
    help: ArgumentHelp(
      "Read `var` values from NAME=VALUE lines (repeatable, a later file wins; Machinefile.vars beside the Machinefile is read too, below them).",
      valueName: "file"))
  var files: [String] = []

  func validate() throws {
    for pair in pairs {
      guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
        throw ValidationError("--var takes NAME=VALUE, got '\(pair)'; e.g. --var workers=3")
      }
    }
  }

  var input: VariableInput {
    VariableInput(
      given: pairs.map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
      },
      files: files)
  }
}
