// Checks a parsed Machinefile against the language's settings and collects every problem
// (it does not stop at the first), in the order a reader meets them. What it accepts it
// records in a `CheckedFile` for lowering.

import Foundation
import Spec
import Support

final class Validator {
  let fileName: String
  let lines: SourceLines
  let environment: [String: String]
  /// The Machinefile's folder: where relative host paths that are checked now start.
  let directory: String
  /// Where each declared `var` got its value (`--var`, `Machinefile.vars:3`, …), for messages.
  var variableSources: [String: String] = [:]
  /// Each `var` declared so far and where.
  var declaredVariables: [String: SourceLocation] = [:]
  /// Every `var` of the file, declared anywhere: `${NAME}` of one without a value is
  /// reported at the `var`, not at each use.
  var declaredNames: Set<String> = []
  private(set) var diagnostics: [Diagnostic] = []
  var result = CheckedFile()

  init(fileName: String, lines: SourceLines, environment: [String: String], directory: String? = nil) {
    self.fileName = fileName
    self.lines = lines
    self.environment = environment
    self.directory = directory ?? (FileSystem.absolute(fileName) as NSString).deletingLastPathComponent
  }

  /// Where a statement is, for messages and for expanding `${index}`/`${name}`.
  struct Scope {
    var inMachine: Bool
    /// `at top level`, `in machine "web"`, `in 'ssh' block of machine "web"`.
    var description: String
    /// The copies of the machine the statement applies to (empty at top level).
    var copies: [MachineCopy]

    static let topLevel = Scope(inMachine: false, description: "at top level", copies: [])
  }

  static let topLevelSettings = [
    "version", "box", "cpus", "memory", "disk", "volume", "hostname", "forward", "network", "sync",
    "provision", "cloud_init", "trigger", "boot_timeout", "graceful_halt_timeout", "ssh", "libvirt", "machine", "var",
  ]
  static let machineSettings = topLevelSettings.filter { $0 != "version" && $0 != "machine" && $0 != "var" }

  // MARK: Reporting

  func error(_ message: String, at location: SourceLocation, length: Int) {
    diagnostics.append(
      Diagnostic(
        severity: .error, message: message, location: location, length: max(length, 1), file: fileName,
        sourceLine: lines.line(location.line)))
  }

  /// Something `caravan validate` says that is not a problem (`count: 0`).
  func note(_ message: String, at value: Value) {
    diagnostics.append(
      Diagnostic(
        severity: .note, message: message, location: value.location, length: max(value.length, 1), file: fileName,
        sourceLine: lines.line(value.location.line)))
  }

  func error(_ message: String, at value: Value) {
    let origin = value.origin.flatMap { $0.isEmpty ? nil : "; \($0)" } ?? ""
    error(message + origin, at: value.location, length: value.length)
  }

  func error(_ message: String, at statement: Statement) {
    error(message, at: statement.location, length: statement.length)
  }

  func error(_ message: String, atLabelOf argument: Argument) {
    error(message, at: argument.labelLocation, length: argument.labelLength + (argument.label == nil ? 0 : 1))
  }

  /// A diagnostic about another file (a var file) or about none (`--var`).
  func report(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

  var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  // MARK: File

  /// Validates the file; returns what lowering needs, or nil if the file declares a
  /// language version this build cannot read (then that is the only diagnostic).
  func validate(_ file: SourceFile) -> CheckedFile? {
    guard checkVersionStatement(file) else { return nil }
    // Machines are appended to `result` while the top level is walked, so the defaults
    // are collected apart (an inout access to `result` would overlap).
    var defaults = CheckedScope()
    for statement in file.statements {
      checkStatement(statement, scope: .topLevel, into: &defaults)
    }
    result.defaults = defaults
    checkMachineNames()
    checkSyncDestinations()
    if result.machines.isEmpty {
      result.machines = [
        CheckedMachine(
          name: "default", location: SourceLocation(line: 1, column: 1),
          nameLocation: SourceLocation(line: 1, column: 1), nameLength: 0,
          copies: [MachineCopy(name: "default", index: 1)])
      ]
    }
    diagnostics = stableSortedByLocation(diagnostics)
    return result
  }

  private func stableSortedByLocation(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
    diagnostics.enumerated().sorted {
      let (a, b) = ($0.element.location, $1.element.location)
      if a.line != b.line { return a.line < b.line }
      if a.column != b.column { return a.column < b.column }
      return $0.offset < $1.offset
    }.map(\.element)
  }

  /// `version` must be the first statement, once, and name a version this build reads.
  /// A higher version is refused by name, and nothing else is reported: the file is
  /// written in a language this build does not know.
  func checkVersionStatement(_ file: SourceFile) -> Bool {
    var first: Statement?
    for (position, statement) in file.statements.enumerated() where statement.name == "version" {
      checkInterpolations(in: statement, scope: .topLevel)
      if let first {
        error(
          "duplicate setting 'version' at top level; it is already set at \(first.location); remove one of them",
          at: statement)
        continue
      }
      first = statement
      if position != 0 {
        error("'version' must be the first statement of the Machinefile; move it to the top", at: statement)
      }
      let args = arguments(of: statement, scope: .topLevel, positional: 1, example: "version 1")
      guard let value = args.values.first, let version = integer(value, "'version'", example: "version 1") else {
        continue
      }
      if version > 1 {
        diagnostics = []
        error(
          "this caravan reads Machinefile version 1; upgrade caravan to read this version \(version) Machinefile",
          at: value)
        return false
      }
      if version < 1 {
        error("Machinefile version \(version) does not exist; write version 1", at: value)
      }
    }
    return true
  }

  // MARK: Statements

  func checkStatement(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    if statement.name != "version" { checkInterpolations(in: statement, scope: scope) }
    switch statement.name {
    case "version":
      if scope.inMachine {
        error(
          "'version' is only allowed at top level, as the first statement; move it out of the machine block",
          at: statement)
      }
    case "machine":
      if scope.inMachine {
        error("'machine' is only allowed at top level; machine blocks cannot be nested", at: statement)
      } else {
        checkMachine(statement)
      }
    case "var":
      if scope.inMachine {
        error("'var' is only allowed at top level; move it out of the machine block", at: statement)
      } else {
        checkVar(statement, varFiles: true) { self.variableSources[$0] != nil }
      }
    case "box": checkBox(statement, scope: scope, into: &settings)
    case "cpus": checkCPUs(statement, scope: scope, into: &settings)
    case "memory": checkMemory(statement, scope: scope, into: &settings)
    case "disk": checkDisk(statement, scope: scope, into: &settings)
    case "hostname": checkHostname(statement, scope: scope, into: &settings)
    case "boot_timeout": checkBootTimeout(statement, scope: scope, into: &settings)
    case "graceful_halt_timeout": checkGracefulHaltTimeout(statement, scope: scope, into: &settings)
    case "volume": checkVolume(statement, scope: scope, into: &settings)
    case "forward": checkForward(statement, scope: scope, into: &settings)
    case "network": checkNetwork(statement, scope: scope, into: &settings)
    case "sync": checkSync(statement, scope: scope, into: &settings)
    case "provision": checkProvision(statement, scope: scope, into: &settings)
    case "cloud_init": checkCloudInit(statement, scope: scope, into: &settings)
    case "trigger": checkTrigger(statement, scope: scope, into: &settings)
    case "ssh": checkSSH(statement, scope: scope, into: &settings)
    case "libvirt": checkLibvirt(statement, scope: scope, into: &settings)
    default:
      let valid = scope.inMachine ? Validator.machineSettings : Validator.topLevelSettings
      error(
        "unknown setting '\(statement.name)' \(scope.description)"
          + Suggestions.didYouMean(statement.name, in: valid), at: statement)
    }
  }

  /// Records the first use of a single-valued setting; reports a second one.
  func claim(_ key: String, _ statement: Statement, scope: Scope, in settings: inout CheckedScope) -> Bool {
    if let first = settings.firstSeen[key] {
      error(
        "duplicate setting '\(statement.name)' \(scope.description); it is already set at \(first); remove one of them",
        at: statement)
      return false
    }
    settings.firstSeen[key] = statement.location
    return true
  }

  // MARK: Machines

  private func checkMachine(_ statement: Statement) {
    let args = arguments(
      of: statement, scope: .topLevel, positional: 1, example: "machine \"web\" { … }",
      options: ["primary", "autostart", "count", "first"], block: .optional, needs: "a name")
    var name = "?"
    var nameValue: Value?
    if let value = args.values.first,
      let literal = stringOrName(value, "the name of 'machine'", example: "machine \"web\" { … }")
    {
      nameValue = value
      if let text = expandedOnce(literal) {
        if let problem = ValueChecks.objectName(text) {
          error("machine name '\(text)' is not valid: \(problem)", at: value)
        } else {
          name = text
        }
      }
    }
    var machine = CheckedMachine(
      name: name, location: statement.location, nameLocation: nameValue?.location ?? statement.location,
      nameLength: nameValue?.length ?? statement.length, copies: [])
    if let option = args.options["primary"], let primary = bool(option.value, "'primary:' of 'machine'") {
      machine.primary = primary
      machine.primaryLocation = option.labelLocation
    }
    if let option = args.options["autostart"], let autostart = bool(option.value, "'autostart:' of 'machine'") {
      machine.autostart = autostart
    }
    checkCount(args.options, name: name, into: &machine)
    if name != "?" {
      let first = machine.first
      machine.copies =
        machine.count.map { count in
          (0..<count).map { MachineCopy(name: "\(name)-\(first + $0)", index: first + $0, position: $0) }
        } ?? [MachineCopy(name: name, index: 1)]
    }
    let scope = Scope(inMachine: true, description: "in machine \"\(name)\"", copies: machine.copies)
    for inner in statement.block?.statements ?? [] {
      checkStatement(inner, scope: scope, into: &machine.settings)
    }
    result.machines.append(machine)
  }

  /// Machine names must be unique after `count:` expansion, and only one machine primary.
  private func checkMachineNames() {
    var owners: [String: CheckedMachine] = [:]
    for machine in result.machines {
      for copy in machine.copies {
        if let owner = owners[copy.name] {
          let by =
            owner.count.map { "machine \"\(owner.name)\" with count: \($0) at \(owner.location) already defines it" }
            ?? "a machine with this name is already defined at \(owner.location)"
          let renamed =
            machine.count == nil ? "" : " (from machine \"\(machine.name)\" with count: \(machine.count ?? 0))"
          error(
            "duplicate machine name '\(copy.name)'\(renamed): \(by); rename one of them",
            at: machine.nameLocation, length: machine.nameLength)
          break
        }
        owners[copy.name] = machine
      }
    }
    let primaries = result.machines.filter(\.primary)
    if primaries.count > 1, let first = primaries.first {
      for machine in primaries.dropFirst() {
        error(
          "machine \"\(machine.name)\" is marked primary: true, but machine \"\(first.name)\" at \(first.location) already is; only one machine can be primary",
          at: machine.primaryLocation ?? machine.location, length: "primary".count + 1)
      }
    }
  }
}

extension Validator {
  /// `count:` (0 allowed: the block defines no machine) and `first:`, the number of the
  /// first instance (default 1).
  fileprivate func checkCount(_ options: FoundOptions, name: String, into machine: inout CheckedMachine) {
    if let option = options["first"], let value = typed(option.value),
      let first = integer(value, "'first:' of 'machine'", example: "first: 0")
    {
      if options["count"] == nil {
        error(
          "'first:' of machine \"\(name)\" numbers the instances of a machine with count:; add count: or remove first:",
          atLabelOf: option)
      } else if !(0...1_000_000).contains(first) {
        error("'first:' of machine \"\(name)\" must be between 0 and 1000000, got \(first)", at: value)
      } else {
        machine.first = first
      }
    }
    guard let option = options["count"], let value = typed(option.value),
      let count = integer(value, "'count:' of 'machine'", example: "count: 3")
    else { return }
    if count < 0 {
      error("'count:' of machine \"\(name)\" must be 0 or more, got \(count)", at: value)
    } else if count > 10_000 {
      error("'count:' of machine \"\(name)\" must be at most 10000, got \(count)", at: value)
    } else {
      machine.count = count
      if count == 0 {
        note("machine \"\(name)\" has count: 0 and defines no machine", at: value)
      } else if machine.primary && count > 1 {
        error(
          "machine \"\(name)\" has count: \(count) and primary: true, but only one machine can be primary; remove primary: or count:",
          at: value)
      }
    }
  }
}
