// ENV reads become `var`s: each read that gave a value (the environment's, or
// `ENV.fetch`'s default) is a `var NAME, default: VALUE`, and the settings whose values
// came out as that value read `${NAME}` instead. A read whose value shows up in no
// setting (it steered Ruby code: a loop, a condition) is reported as left out.

import Foundation

/// The variables of the Machinefile, from the Vagrantfile's ENV reads.
struct EnvironmentVariables {
  struct Variable {
    var name: String
    var value: String
    var declared: Written
    var line: Int
    var how: String
    var used = false
  }

  /// The host's own variables: `${HOME}` reads the environment, no `var` is declared.
  static let hostVariables: Set<String> = ["HOME", "USER", "LOGNAME", "PWD", "PATH", "SHELL", "TMPDIR"]

  private(set) var variables: [Variable] = []

  init(reads: [Recording.EnvRead], report: inout ImportReport) {
    var seen: Set<String> = []
    for read in reads {
      let shown = read.how == "[]" ? "ENV[\"\(read.name)\"]" : "ENV.\(read.how)(\"\(read.name)\")"
      if ["key?", "has_key?", "include?", "member?"].contains(read.how) {
        report.drop(
          read.line, shown,
          "it decides Ruby code; the Machinefile has what it gave with \(read.name) \(read.value == nil || read.value == .null ? "unset" : "set")"
        )
        continue
      }
      guard !seen.contains(read.name) else { continue }
      seen.insert(read.name)
      let given = read.value.flatMap { $0 == .null ? nil : $0 } ?? read.default.flatMap { $0 == .null ? nil : $0 }
      guard let given, let declared = Convert.data(given), Render.isName(read.name) else {
        report.drop(
          read.line, shown,
          "unset here, with no default Caravan can see (`||` is Ruby code); set \(read.name) and run `caravan init --from Vagrantfile` again to make it a var"
        )
        continue
      }
      variables.append(
        Variable(name: read.name, value: Convert.plainText(given), declared: declared, line: read.line, how: shown))
    }
    // Longest values first, so `/home/me` is matched before `me`.
    variables.sort { $0.value.count > $1.value.count }
  }

  /// Rewrites the values that equal (or, for long enough values, contain) a variable's value.
  mutating func substitute(in settings: inout [Setting]) {
    for index in settings.indices {
      // `memory`/`disk` are written as sizes; Vagrant gave them as MiB/GB numbers.
      if let number = EnvironmentVariables.vagrantNumber(of: settings[index]), let name = variable(valued: number) {
        settings[index].values = [.template("${\(name)}" + (settings[index].name == "disk" ? "GiB" : ""))]
        continue
      }
      settings[index].values = settings[index].values.map { substitute($0) }
      for option in settings[index].options.indices {
        settings[index].options[option].value = substitute(settings[index].options[option].value)
      }
    }
  }

  /// The number a Vagrantfile gave for a `memory` (MiB) or `disk` (GB) setting.
  static func vagrantNumber(of setting: Setting) -> Int? {
    guard setting.name == "memory" || setting.name == "disk", case .unit(let size)? = setting.values.first else {
      return nil
    }
    let number = Int(size.prefix { $0.isNumber })
    switch (setting.name, size.drop { $0.isNumber }) {
    case ("memory", "GiB"): return number.map { $0 * 1024 }
    case ("memory", "MiB"), ("disk", "GiB"): return number
    default: return nil
    }
  }

  /// The one variable whose value is `number` (marked used), or nil.
  private mutating func variable(valued number: Int) -> String? {
    let matches = variables.indices.filter { variables[$0].value == String(number) }
    guard matches.count == 1, let match = matches.first else { return nil }
    variables[match].used = true
    return variables[match].name
  }

  /// A `count:` that equals exactly one variable's value reads it.
  mutating func count(_ count: Int) -> Written {
    variable(valued: count).map { .template("${\($0)}") } ?? .integer(count)
  }

  private mutating func substitute(_ value: Written) -> Written {
    switch value {
    case .text(let text): return template(text)
    case .integer(let number):
      return variable(valued: number).map { .template("${\($0)}") } ?? value
    case .list(let values): return .list(values.map { substitute($0) })
    case .map(let entries): return .map(entries.map { Written.Entry(key: $0.key, value: substitute($0.value)) })
    case .pair(let left, let right): return .pair(substitute(left), substitute(right))
    default: return value
    }
  }

  /// The text with each variable's value in it as `${NAME}`: a whole-text match for short
  /// or numeric values, any occurrence for others.
  private mutating func template(_ text: String) -> Written {
    enum Part {
      case literal(String)
      case variable(String)
    }
    var parts: [Part] = [.literal(text)]
    for index in variables.indices {
      let value = variables[index].value
      guard !value.isEmpty else { continue }
      let anywhere = value.count >= 4 && !value.allSatisfy(\.isNumber)
      var next: [Part] = []
      for part in parts {
        guard case .literal(let literal) = part,
          anywhere ? literal.contains(value) : literal == value
        else {
          next.append(part)
          continue
        }
        variables[index].used = true
        let pieces = literal.components(separatedBy: value)
        for (position, piece) in pieces.enumerated() {
          if position > 0 { next.append(.variable(variables[index].name)) }
          if !piece.isEmpty { next.append(.literal(piece)) }
        }
      }
      parts = next
    }
    guard parts.contains(where: { if case .variable = $0 { return true } else { return false } }) else {
      return .text(text)
    }
    return .template(
      parts.map { part in
        switch part {
        case .literal(let literal): return Render.escaped(literal, dollars: true)
        case .variable(let name): return "${\(name)}"
        }
      }.joined())
  }

  /// The `var` statements of the variables some setting reads; the others are reported.
  func declarations(report: inout ImportReport) -> [Setting] {
    var declared: [Setting] = []
    for variable in variables.sorted(by: { ($0.line, $0.name) < ($1.line, $1.name) }) {
      if !variable.used {
        report.drop(
          variable.line, variable.how,
          "its value \(variable.value) is in no setting (it steered Ruby code); the Machinefile has what it gave")
      } else if !EnvironmentVariables.hostVariables.contains(variable.name) {
        declared.append(
          Setting("var", [.word(variable.name)], options: [("default", variable.declared)], line: variable.line))
      }
    }
    return declared
  }
}
