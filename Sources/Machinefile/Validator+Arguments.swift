// The shape of a statement: how many values it takes, which `name:` options, whether it
// takes a block; and checks of `${…}` in every string it holds.

import Spec
import Support

extension Validator {
  enum BlockRule { case forbidden, optional, required }

  struct CheckedArguments {
    /// The positional values, at most as many as the statement takes.
    var values: [Value]
    /// The first occurrence of each known option.
    var options: FoundOptions
  }

  /// The options of one statement, looked up by label (statements have few, so a list).
  struct FoundOptions {
    fileprivate(set) var arguments: [Argument] = []

    subscript(label: String) -> Argument? {
      arguments.first { $0.label == label }
    }
  }

  func arguments(
    of statement: Statement, scope: Scope, positional: Int, example: String, options: [String] = [],
    block: BlockRule = .forbidden, needs: String = "a value", explainUnknownOption: ((String) -> String?)? = nil
  ) -> CheckedArguments {
    let subject = "'\(statement.name)'"
    if block == .forbidden, let body = statement.block {
      error("\(subject) does not take a block; remove the '{ … }'", at: body.location, length: 1)
    }
    var values: [Value] = []
    var reportedExtra = false
    for argument in statement.arguments where argument.label == nil {
      if values.count < positional {
        values.append(argument.value)
      } else if !reportedExtra {
        reportedExtra = true
        let takes =
          positional == 0
          ? "takes no value, only options (\(options.map { "\($0):" }.listed))"
          : "takes one value"
        error("\(subject) \(takes); remove \(argument.value.described), e.g. `\(example)`", at: argument.value)
      }
    }
    if values.count < positional {
      error("\(subject) needs \(needs) \(scope.description), e.g. `\(example)`", at: statement)
    }
    let found = checkOptions(
      of: statement, allowed: options, subject: subject, explainUnknown: explainUnknownOption)
    return CheckedArguments(values: values, options: found)
  }

  /// Reports unknown and repeated `name:` options; returns the first of each known one.
  func checkOptions(
    of statement: Statement, allowed: [String], subject: String, explainUnknown: ((String) -> String?)? = nil
  ) -> FoundOptions {
    var found = FoundOptions()
    for argument in statement.arguments {
      guard let label = argument.label else { continue }
      guard allowed.contains(label) else {
        if let explanation = explainUnknown?(label) {
          error(explanation, atLabelOf: argument)
        } else if allowed.isEmpty {
          error("\(subject) takes no options; remove '\(label):'", atLabelOf: argument)
        } else {
          let suggestion = Suggestions.didYouMean(label, in: allowed) { "'\($0):'" }
          let hint = suggestion.isEmpty ? "; valid options are \(allowed.map { "\($0):" }.listed)" : suggestion
          error("unknown option '\(label):' for \(subject)\(hint)", atLabelOf: argument)
        }
        continue
      }
      if let first = found[label] {
        error(
          "duplicate option '\(label):' for \(subject); it is already given at \(first.labelLocation); remove one of them",
          atLabelOf: argument)
        continue
      }
      found.arguments.append(argument)
    }
    return found
  }

  // MARK: Interpolation

  func checkInterpolations(in statement: Statement, scope: Scope) {
    for argument in statement.arguments where !Validator.isScriptBody(argument, of: statement) {
      checkInterpolations(in: argument.value, scope: scope)
    }
  }

  /// Script bodies reach the shell as written: `inline:` of `provision`/`postinstall`,
  /// `run:`/`run_remote:` of `trigger`. Their `${…}` and `$$` are the shell's. So does
  /// `inline:` of `cloud_init` reach cloud-init (a cloud-config's `runcmd` is a script too).
  static func isScriptBody(_ argument: Argument, of statement: Statement) -> Bool {
    switch statement.name {
    case "provision", "postinstall", "cloud_init": return argument.label == "inline"
    case "trigger": return argument.label == "run" || argument.label == "run_remote"
    default: return false
    }
  }

  private func checkInterpolations(in value: Value, scope: Scope) {
    switch value.kind {
    case .string(let literal, _):
      checkInterpolations(in: literal, scope: scope)
    case .list(let elements):
      for element in elements { checkInterpolations(in: element, scope: scope) }
    case .map(let entries):
      for entry in entries {
        if entry.keyHasInterpolation {
          error(
            "map key \(entry.key) cannot use ${…}; write the key as a plain name", at: entry.keyLocation,
            length: entry.keyLength)
        }
        checkInterpolations(in: entry.value, scope: scope)
      }
    case .pair(let left, let right):
      checkInterpolations(in: left, scope: scope)
      checkInterpolations(in: right, scope: scope)
    default:
      break
    }
  }

  private func checkInterpolations(in literal: StringLiteral, scope: Scope) {
    for part in literal.parts {
      switch part {
      case .text:
        break
      case .environment(let name, let fallback, let location, let length):
        if fallback == nil, environment[name] == nil, !declaredNames.contains(name) {
          error(
            "environment variable '\(name)' is not set; set it or write ${\(name):-default} to give a default",
            at: location, length: length)
        }
      case .machineIndex(let location, let length):
        if !scope.inMachine {
          error(
            "'${index}' (the machine's 1-based index) is only available inside a machine block, not \(scope.description)",
            at: location, length: length)
        }
      case .machineName(let location, let length):
        if !scope.inMachine {
          error(
            "'${name}' (the machine's name) is only available inside a machine block, not \(scope.description)",
            at: location, length: length)
        }
      case .invalid(let message, let location, let length):
        error(message, at: location, length: length)
      }
    }
  }

  /// Whether every `${…}` in the literal can be expanded (so its text can be checked).
  func isExpandable(_ literal: StringLiteral) -> Bool {
    literal.parts.allSatisfy {
      switch $0 {
      case .invalid: return false
      case .environment(let name, let fallback, _, _): return fallback != nil || environment[name] != nil
      default: return true
      }
    }
  }

  /// The text of a literal outside any machine (nil if it cannot be expanded).
  func expandedOnce(_ literal: StringLiteral) -> String? {
    guard isExpandable(literal), !literal.usesMachineVariables else { return nil }
    return Expansion(environment: environment).expand(literal)
  }

  /// Checks the expanded text of a string: once, or once per machine copy when it uses
  /// `${index}`/`${name}` (reporting the first copy that fails).
  func checkText(
    _ literal: StringLiteral, at value: Value, scope: Scope, _ check: (String) -> String?
  ) {
    guard isExpandable(literal) else { return }
    if literal.usesMachineVariables {
      guard scope.inMachine else { return }
      for copy in scope.copies {
        let text = Expansion(environment: environment, machineName: copy.name, machineIndex: copy.index)
          .expand(literal)
        if let problem = check(text) {
          error(problem, at: value)
          return
        }
      }
    } else {
      let text = Expansion(environment: environment, machineName: scope.copies.first?.name).expand(literal)
      if let problem = check(text) { error(problem, at: value) }
    }
  }
}
