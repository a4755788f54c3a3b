// `Machinefile.lock`: read with every problem at its line and column (JSON is read as
// YAML, whose parser keeps each value's place), written as JSON with sorted keys and one
// final newline, so a changed box is a small diff.

import Foundation
import Spec
import Support
internal import Yams

public enum LockFile {
  /// The lock of the Machinefile at `machinefile`: `Machinefile.lock` beside it
  /// (`NAME.lock` for a Machinefile of another name).
  public static func path(forMachinefile machinefile: String) -> String {
    machinefile + ".lock"
  }

  /// The lock at `path`, nil when there is none; a lock that cannot be read is a
  /// `MachinefileError` with each problem at its place.
  public static func read(path: String, shownAs: String? = nil) throws -> BoxLock? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let shown = shownAs ?? path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw MachinefileError(diagnostics: [
        Diagnostic(
          message: "cannot read the lock file '\(path)'", location: SourceLocation(line: 0, column: 0), file: shown)
      ])
    }
    let (lock, diagnostics) = parse(String(decoding: data, as: UTF8.self), file: shown)
    guard let lock, diagnostics.isEmpty else { throw MachinefileError(diagnostics: diagnostics) }
    return lock
  }

  /// Reads a lock's text; diagnostics say what is wrong where, and how to make it anew.
  public static func parse(_ text: String, file: String) -> (BoxLock?, [Diagnostic]) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var problems: [Diagnostic] = []
    func problem(_ message: String, _ mark: Mark?) {
      let line = mark?.line ?? 0
      problems.append(
        Diagnostic(
          message: message + "; `caravan lock --update` writes it anew",
          location: SourceLocation(line: line, column: mark?.column ?? 0), file: file,
          sourceLine: line > 0 && line <= lines.count ? lines[line - 1] : nil))
    }
    let root: Node
    do {
      guard let document = try Yams.compose(yaml: text) else {
        problem("the lock file is empty", nil)
        return (nil, problems)
      }
      root = document
    } catch let error as YamlError {
      problem("the lock file is not valid JSON: \(describe(error))", mark(of: error))
      return (nil, problems)
    } catch {
      problem("the lock file is not valid JSON: \(error)", nil)
      return (nil, problems)
    }
    guard let top = root.mapping else {
      problem("the lock file must be a JSON object with \"version\" and \"boxes\"", root.mark)
      return (nil, problems)
    }
    let version = top["version"]
    guard let version, version.int == BoxLock.formatVersion else {
      problem(
        "the lock file's \"version\" is \(version?.string.map { "'\($0)'" } ?? "missing"); this Caravan reads version \(BoxLock.formatVersion)",
        version?.mark ?? root.mark)
      return (nil, problems)
    }
    guard let boxes = top["boxes"]?.sequence else {
      problem("the lock file needs a \"boxes\" list", top["boxes"]?.mark ?? root.mark)
      return (nil, problems)
    }
    var entries: [LockedBox] = []
    for node in boxes {
      if let entry = lockedBox(node, problem: problem) { entries.append(entry) }
    }
    return problems.isEmpty ? (BoxLock(boxes: entries), []) : (nil, problems)
  }

  private static func lockedBox(_ node: Node, problem: (String, Mark?) -> Void) -> LockedBox? {
    guard let map = node.mapping else {
      problem("each entry of \"boxes\" must be an object", node.mark)
      return nil
    }
    let place = map["name"]?.string.map { "box '\($0)'" } ?? "a box"
    func text(_ key: String) -> String? {
      guard let value = map[key] else {
        problem("\(place) has no \"\(key)\"", node.mark)
        return nil
      }
      guard let string = value.string, value.scalar != nil, !string.isEmpty else {
        problem("\"\(key)\" of \(place) must be a non-empty string", value.mark)
        return nil
      }
      return string
    }
    let name = text("name")
    let version = text("version")
    let provider = text("provider")
    var source: LockedSource?
    if let sourceNode = map["source"] {
      if let kindText = sourceNode.mapping?["kind"]?.string, let location = sourceNode.mapping?["location"]?.string {
        if let kind = LockedSource.Kind(rawValue: kindText) {
          source = LockedSource(kind: kind, location: location)
        } else {
          problem(
            "the source kind '\(kindText)' of \(place) is none of \(LockedSource.Kind.allCases.map(\.rawValue).joined(separator: ", "))",
            sourceNode.mapping?["kind"]?.mark)
        }
      } else {
        problem("\"source\" of \(place) must be an object with \"kind\" and \"location\"", sourceNode.mark)
      }
    } else {
      problem("\(place) has no \"source\"", node.mark)
    }
    var sha256: String?
    if let value = map["sha256"], value.null == nil {
      sha256 = digest(value, what: "\"sha256\" of \(place)", problem: problem)
    }
    var disks: [String: String] = [:]
    if let diskNode = map["disks"], let diskMap = diskNode.mapping, !diskMap.isEmpty {
      for (key, value) in diskMap {
        guard let file = key.string else { continue }
        if let hex = digest(value, what: "the digest of disk '\(file)' of \(place)", problem: problem) {
          disks[file] = hex
        }
      }
    } else {
      problem("\(place) needs \"disks\": the sha256 of each disk image, by file name", map["disks"]?.mark ?? node.mark)
    }
    guard let name, let version, let provider, let source else { return nil }
    return LockedBox(name: name, version: version, provider: provider, source: source, sha256: sha256, disks: disks)
  }

  private static func digest(_ node: Node, what: String, problem: (String, Mark?) -> Void) -> String? {
    guard let text = node.string, text.count == 64, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
      problem("\(what) must be 64 lowercase hex digits (a sha256)", node.mark)
      return nil
    }
    return text
  }

  private static func mark(of error: YamlError) -> Mark? {
    switch error {
    case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark
    default: return nil
    }
  }

  private static func describe(_ error: YamlError) -> String {
    switch error {
    case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
    default: return "\(error)"
    }
  }

  /// The lock as written: JSON, two-space indents, sorted keys, one final newline.
  public static func render(_ lock: BoxLock) -> String {
    var out = "{\n  \"boxes\": ["
    for (index, box) in lock.boxes.enumerated() {
      out += index == 0 ? "\n" : ",\n"
      var fields: [(String, String)] = [
        ("disks", object(box.disks.sorted { $0.key < $1.key }.map { ($0.key, quote($0.value)) }, indent: 6)),
        ("name", quote(box.name)),
        ("provider", quote(box.provider)),
      ]
      if let sha256 = box.sha256 { fields.append(("sha256", quote(sha256))) }
      fields.append(
        (
          "source",
          object([("kind", quote(box.source.kind.rawValue)), ("location", quote(box.source.location))], indent: 6)
        )
      )
      fields.append(("version", quote(box.version)))
      out += "    " + object(fields, indent: 4)
    }
    out += lock.boxes.isEmpty ? "],\n" : "\n  ],\n"
    out += "  \"version\": \(BoxLock.formatVersion)\n}\n"
    return out
  }

  /// `{ "key": value, … }` over several lines at `indent`.
  private static func object(_ fields: [(String, String)], indent: Int) -> String {
    guard !fields.isEmpty else { return "{}" }
    let inner = String(repeating: " ", count: indent + 2)
    let body = fields.map { "\(inner)\(quote($0.0)): \($0.1)" }.joined(separator: ",\n")
    return "{\n\(body)\n\(String(repeating: " ", count: indent))}"
  }

  /// A JSON string literal.
  static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// Writes the lock atomically (a reader never sees half of it).
  public static func write(_ lock: BoxLock, to path: String) throws {
    try FileSystem.writeAtomically(Data(render(lock).utf8), to: path, mode: 0o644)
  }
}
