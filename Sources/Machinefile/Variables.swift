// Where `var` values come from: `--var NAME=VALUE`, `--var-file FILE` and `Machinefile.vars`
// (lines `NAME=VALUE`), then the host environment, then the `var`'s `default:`. Reading the
// files is the only I/O here; resolving and checking is done on what was read.

import Foundation
import Spec
import Support

/// What the command line says about variables: `--var` values and `--var-file` files.
public struct VariableInput: Sendable, Equatable {
  /// `--var NAME=VALUE`; a later one for the same name wins.
  public var given: [(name: String, value: String)]
  /// `--var-file FILE`, as given (relative to the current folder); a later file wins.
  public var files: [String]

  public init(given: [(name: String, value: String)] = [], files: [String] = []) {
    self.given = given
    self.files = files
  }

  public static func == (a: VariableInput, b: VariableInput) -> Bool {
    a.given.map(\.name) == b.given.map(\.name) && a.given.map(\.value) == b.given.map(\.value) && a.files == b.files
  }
}

/// One place values come from, in precedence order: `--var`, each `--var-file` (the last
/// first), `Machinefile.vars`.
struct VariableLayer {
  struct Entry {
    var value: String
    var line: Int
    var sourceLine: String
  }

  /// `--var`, `--var-file vars/prod.vars`, `Machinefile.vars`.
  var source: String
  /// The file's display name (nil for `--var`).
  var file: String?
  var entries: [String: Entry] = [:]
  /// The names in the order they were written, for reporting.
  var names: [String] = []
  /// Lines that are not `NAME=VALUE`.
  var problems: [Diagnostic] = []

  /// Where a value came from: `--var`, `--var-file prod.vars:3`, `Machinefile.vars:1`.
  func describe(_ name: String) -> String {
    guard file != nil, let entry = entries[name] else { return source }
    return "\(source):\(entry.line)"
  }

  static func given(_ pairs: [(name: String, value: String)]) -> VariableLayer {
    var layer = VariableLayer(source: "--var")
    for (number, pair) in pairs.enumerated() {
      if layer.entries[pair.name] == nil { layer.names.append(pair.name) }
      layer.entries[pair.name] = Entry(value: pair.value, line: number + 1, sourceLine: "")
    }
    return layer
  }

  /// A var file's text: `NAME=VALUE` lines (the value is the rest of the line, spaces
  /// around it removed, nothing else: no quotes, no comments), blank lines and `#` comment
  /// lines. A later line for the same name wins.
  static func parse(_ text: String, source: String, file: String) -> VariableLayer {
    var layer = VariableLayer(source: source, file: file)
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      let trimmed = line.trimmingSpaces
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      let indent = line.prefix { $0 == " " || $0 == "\t" }.count
      guard let equals = line.firstIndex(of: "="), isVariableName(line[..<equals].trimmingSpaces) else {
        let problem =
          line.contains("=")
          ? "'\(line[..<(line.firstIndex(of: "=") ?? line.endIndex)].trimmingSpaces)' is not a variable name; names use letters, digits and '_'"
          : "expected NAME=VALUE, got '\(trimmed)'"
        layer.problems.append(
          Diagnostic(
            message: problem, location: SourceLocation(line: number + 1, column: indent + 1),
            length: trimmed.count, file: file, sourceLine: String(line)))
        continue
      }
      let name = line[..<equals].trimmingSpaces
      if layer.entries[name] == nil { layer.names.append(name) }
      layer.entries[name] = Entry(
        value: line[line.index(after: equals)...].trimmingSpaces, line: number + 1, sourceLine: String(line))
    }
    return layer
  }
}

/// The declared variables' values and where each came from.
struct VariableResolution {
  var values: [String: String] = [:]
  /// `--var`, `--var-file FILE:LINE`, `Machinefile.vars:LINE`, `environment` or `default`.
  var sources: [String: String] = [:]
  /// Declared names in file order.
  var names: [String] = []

  /// Resolves each top-level `var` of `file`: the first layer that sets it, then (when
  /// `environmentFirst`) the environment, then its `default:` (expanded with the
  /// environment and the variables before it), then (otherwise) the environment.
  init(of file: SourceFile, layers: [VariableLayer], environment: [String: String], environmentFirst: Bool) {
    for statement in file.statements where statement.name == "var" {
      guard case .name(let name)? = statement.positional.first?.kind, isVariableName(name), !names.contains(name),
        name != "index", name != "name"
      else { continue }
      names.append(name)
      if let layer = layers.first(where: { $0.entries[name] != nil }), let entry = layer.entries[name] {
        set(name, entry.value, from: layer.describe(name))
      } else if environmentFirst, let value = environment[name] {
        set(name, value, from: "environment")
      } else if let argument = statement.arguments.first(where: { $0.label == "default" }),
        let value = defaultText(argument.value, environment: environment)
      {
        set(name, value, from: "default")
      } else if let value = environment[name] {
        set(name, value, from: "environment")
      }
    }
  }

  private mutating func set(_ name: String, _ value: String, from source: String) {
    values[name] = value
    sources[name] = source
  }

  /// A `default:`: a string (its `${…}` read from the environment and the variables so
  /// far) or another scalar as written (`default: 3`).
  private func defaultText(_ value: Value, environment: [String: String]) -> String? {
    switch value.kind {
    case .string(let literal, _):
      return Expansion(environment: environment.merging(values) { _, own in own }).expand(literal)
    case .integer, .size, .duration, .bool: return value.text
    default: return nil
    }
  }

  var described: [Variable] {
    names.compactMap { name in
      values[name].map { Variable(name: name, value: $0, source: sources[name] ?? "") }
    }
  }
}

extension Machinefile {
  /// The layers `input` names, read from their files: `--var`, then each `--var-file` (the
  /// last first), then `Machinefile.vars` beside `path` when it exists. A file that cannot
  /// be read is a `MachinefileError` naming it.
  static func variableLayers(_ input: VariableInput, machinefile path: String, shownAs: String) throws
    -> [VariableLayer]
  {
    var layers = [VariableLayer.given(input.given)]
    for file in input.files.reversed() {
      let text = try read(FileSystem.absolute(file), shownAs: file, what: "var file")
      layers.append(VariableLayer.parse(text, source: "--var-file \(file)", file: file))
    }
    let beside = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("Machinefile.vars")
    if FileSystem.exists(beside) {
      let shownFolder = (shownAs as NSString).deletingLastPathComponent
      let shown =
        shownFolder.isEmpty ? "Machinefile.vars" : (shownFolder as NSString).appendingPathComponent("Machinefile.vars")
      let text = try read(beside, shownAs: shown, what: "var file")
      layers.append(VariableLayer.parse(text, source: shown, file: shown))
    }
    return layers
  }
}
