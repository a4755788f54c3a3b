import ArgumentParser
import Builder
import Foundation
import Machinefile
import Spec
import Support

struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a Machinefile and report every problem at once (exit 65 when invalid).")

  @Argument(help: "The file (default: the Machinefile found from this folder up).") var file: String?
  @Flag(help: "Print the result and diagnostics as JSON.") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let cwd = FileManager.default.currentDirectoryPath
    guard let path = file ?? Machinefile.find(from: cwd, environment: environment) else {
      throw CaravanError(
        .notFound, "no Machinefile in \(cwd) or any folder above it",
        hint: "Name a file (`caravan validate PATH`) or write one with `caravan init`.")
    }
    let absolute = FileSystem.absolute(path)
    let shown = Machinefile.displayName(of: absolute, from: cwd)
    if let data = FileManager.default.contents(atPath: absolute),
      Boxfile.isBoxfile(path: absolute, source: String(decoding: data, as: UTF8.self))
    {
      return try validateBoxfile(absolute, shown: shown, environment: environment)
    }
    var (spec, diagnostics) = ValidateCommand.checked {
      try Machinefile.check(path: absolute, shownAs: shown, environment: environment, variables: variables.input)
    }
    // Machinefile.lock beside it: its syntax, every problem at its place.
    let lockPath = LockFile.path(forMachinefile: absolute)
    if let data = FileManager.default.contents(atPath: lockPath) {
      let lockShown = Machinefile.displayName(of: lockPath, from: cwd)
      diagnostics += LockFile.parse(String(decoding: data, as: UTF8.self), file: lockShown).1
    }
    if diagnostics.contains(where: { $0.severity == .error }) { spec = nil }
    let errors = diagnostics.filter { $0.severity == .error }
    if json {
      let rows = ValidateCommand.rows(diagnostics)
      var object: [String: Any] = ["file": shown, "valid": errors.isEmpty, "diagnostics": rows]
      if let spec, errors.isEmpty {
        object["machines"] = spec.machines.map(\.name)
        object["variables"] = spec.variables.map { ["name": $0.name, "value": $0.value, "source": $0.source] }
        object["unsupported"] = ValidateCommand.unsupported(in: spec)
      }
      let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: out, as: UTF8.self))
    } else {
      for diagnostic in diagnostics { printError(diagnostic.rendered) }
      if errors.isEmpty, let spec {
        let all = spec.machines.map(\.name)
        let names =
          all.count <= 8
          ? all.joined(separator: ", ") : all.prefix(6).joined(separator: ", ") + ", … " + (all.last ?? "")
        let listed = all.isEmpty ? "" : " (\(names))"
        print("\(shown): valid, \(spec.machines.count) machine\(spec.machines.count == 1 ? "" : "s")\(listed)")
      }
    }
    if !errors.isEmpty {
      if !json { printError("\(shown): \(errors.count) error\(errors.count == 1 ? "" : "s")") }
      throw ExitCode(65)
    }
  }
}

extension ValidateCommand {
  /// Diagnostics as `--json` prints them.
  static func rows(_ diagnostics: [Diagnostic]) -> [[String: Any]] {
    diagnostics.map {
      [
        "file": $0.file, "line": $0.location.line, "column": $0.location.column,
        "severity": $0.severity.rawValue, "message": $0.message,
      ]
    }
  }

  /// The result of a check; a file that cannot be read (or is not UTF-8) is its diagnostics.
  static func checked<Checked>(_ check: () throws -> (Checked?, [Diagnostic])) -> (Checked?, [Diagnostic]) {
    do {
      return try check()
    } catch let error as MachinefileError {
      return (nil, error.diagnostics)
    } catch {
      return (nil, [Diagnostic(message: "\(error)", location: SourceLocation(line: 0, column: 0), file: "")])
    }
  }

  /// A Boxfile: the same diagnostics, then its templates' (`TemplateCheck`), with the `--var`
  /// values given; a `var` without a value from them, a default or the environment is reported.
  func validateBoxfile(_ path: String, shown: String, environment: [String: String]) throws {
    var (spec, diagnostics) = ValidateCommand.checked {
      try Boxfile.check(
        path: path, shownAs: shown,
        variables: Dictionary(variables.input.given.map { ($0.name, $0.value) }) { _, later in later },
        environment: environment)
    }
    if let valid = spec {
      let cwd = FileManager.default.currentDirectoryPath
      let problems = TemplateCheck.diagnostics(of: valid) { Machinefile.displayName(of: $0, from: cwd) }
      diagnostics += problems
      if problems.contains(where: { $0.severity == .error }) { spec = nil }
    }
    let errors = diagnostics.filter { $0.severity == .error }
    if json {
      let rows = ValidateCommand.rows(diagnostics)
      var object: [String: Any] = ["file": shown, "valid": errors.isEmpty, "diagnostics": rows, "kind": "Boxfile"]
      if let spec, errors.isEmpty {
        object["box"] = spec.name
        object["version"] = spec.version
        object["strategy"] = spec.strategy.rawValue
      }
      let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: out, as: UTF8.self))
    } else {
      for diagnostic in diagnostics { printError(diagnostic.rendered) }
      if errors.isEmpty, let spec {
        print("\(shown): valid Boxfile, box \(spec.name) \(spec.version) (strategy \(spec.strategy.rawValue))")
      }
    }
    if !errors.isEmpty {
      if !json { printError("\(shown): \(errors.count) error\(errors.count == 1 ? "" : "s")") }
      throw ExitCode(65)
    }
  }

  /// What `up` would name as not supported yet, per machine and setting, from
  /// the same declarations `up` uses.
  static func unsupported(in spec: ProjectSpec) -> [[String: Any]] {
    spec.machines.flatMap { machine in
      Context.support.unsupported(in: machine).map {
        ["machine": machine.name, "setting": $0.name, "line": $0.location.line, "column": $0.location.column]
      }
    }
  }
}
