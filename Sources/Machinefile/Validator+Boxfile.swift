// Boxfiles: `version`, `var` and one `build "NAME", version: "V" { … }`. Same lexer, parser,
// messages and value checks as Machinefiles; the result is a BuildSpec. The validator's
// environment already holds the `var` values and `${http_ip}`/`${http_port}`/`${version}`.

import Spec
import Support

extension Validator {
  static let boxfileTopLevel = ["version", "var", "build"]
  static let buildSettings = [
    "strategy", "from", "template", "http_dir", "kernel_args", "boot_command", "boot_wait", "cpus", "memory", "disk",
    "ssh", "postinstall", "output", "timeout",
  ]

  /// The values of the file's `var`s: `--var` first, then `default:`, then the host environment.
  static func variables(
    of file: SourceFile, given: [String: String], environment: [String: String]
  ) -> [String: String] {
    let layer = VariableLayer.given(given.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) })
    return VariableResolution(of: file, layers: [layer], environment: environment, environmentFirst: false).values
  }

  func validateBoxfile(_ file: SourceFile, path: String, directory: String, variables: [String: String])
    -> BuildSpec?
  {
    guard checkVersionStatement(file) else { return nil }
    var build: BuildSpec?
    var firstBuild: Statement?
    for statement in file.statements {
      switch statement.name {
      case "version": break
      case "var":
        checkInterpolations(in: statement, scope: .topLevel)
        checkVar(statement, varFiles: false) { variables[$0] != nil }
      case "build":
        if let firstBuild {
          error(
            "a Boxfile builds one box; 'build' is already at \(firstBuild.location); move this one to its own Boxfile",
            at: statement)
          continue
        }
        firstBuild = statement
        build = checkBuild(statement, path: path, directory: directory, variables: variables)
      default:
        error(
          "unknown statement '\(statement.name)' at top level of a Boxfile"
            + Suggestions.didYouMean(statement.name, in: Validator.boxfileTopLevel)
            + (Validator.buildSettings.contains(statement.name) ? "; it belongs inside the 'build' block" : ""),
          at: statement)
      }
    }
    if firstBuild == nil {
      error(
        "a Boxfile needs a 'build' block, e.g. `build \"me/debian-12\", version: \"1.0.0\" { strategy rootfs … }`",
        at: SourceLocation(line: 1, column: 1), length: 1)
    }
    return hasErrors ? nil : build
  }

  private func checkBuild(_ statement: Statement, path: String, directory: String, variables: [String: String])
    -> BuildSpec?
  {
    let example = "build \"me/debian-12\", version: \"1.0.0\" { … }"
    checkInterpolations(in: statement, scope: .topLevel)
    let args = arguments(
      of: statement, scope: .topLevel, positional: 1, example: example, options: ["version"], block: .required,
      needs: "a box name")
    var name: String?
    if let value = args.values.first, let literal = string(value, "the box name of 'build'", example: example),
      let text = expandedOnce(literal)
    {
      if !BoxNameCheck.isValid(text) {
        error(
          "box name '\(text)' is not valid: use letters, digits, '-', '_', '.' and at most one '/', like \"me/debian-12\"",
          at: value)
      } else {
        name = text
      }
    }
    var version: String?
    if let option = args.options["version"] {
      if let literal = string(option.value, "'version:' of 'build'", example: example),
        let text = expandedOnce(literal)
      {
        if BoxVersionNumber(text) == nil {
          error(
            "'version:' of 'build' must be dotted numbers like \"12.0.3\", got \"\(text)\"", at: option.value)
        } else {
          version = text
        }
      }
    } else {
      error("'build' needs version:, e.g. `\(example)`", at: statement)
    }
    guard statement.block != nil else {
      error("'build' needs a block with its settings, e.g. `\(example)`", at: statement)
      return nil
    }
    let boxName = name ?? "?"
    let scope = Scope(
      inMachine: true, description: "in build \"\(boxName)\"", copies: [MachineCopy(name: boxName, index: 1)])
    var reader = BuildReader(validator: self, scope: scope, directory: directory, boxName: boxName)
    for inner in statement.block?.statements ?? [] { reader.read(inner) }
    guard let name, let version else { return nil }
    return reader.finish(file: path, name: name, version: version, variables: variables, at: statement)
  }
}

/// A box name as `box add` takes it: `owner/name` or `name`.
enum BoxNameCheck {
  static func isValid(_ text: String) -> Bool {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")
    return !text.isEmpty && text.allSatisfy { allowed.contains($0) } && !text.hasPrefix("/") && !text.hasSuffix("/")
      && !text.contains("..") && text.split(separator: "/").count <= 2
  }
}
