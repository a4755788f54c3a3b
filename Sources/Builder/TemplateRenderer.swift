import Support

/// Renders the Boxfile's template files (preseed, kickstart, cloud-init): every `{{ NAME }}`
/// becomes the value of NAME, and everything else is copied unchanged, so a shell `$`, `${x}` or
/// backslash in a `late_command` or `%post` needs no escaping.
///
/// A placeholder is `{{`, optional spaces or tabs, a name (`[A-Za-z_][A-Za-z0-9_]*`), optional
/// spaces or tabs, `}}`. Values are inserted as they are and never rendered again. Every problem in
/// a template is reported at once, each with its line and column (1-based; columns count
/// characters).
public enum TemplateRenderer {
  public static func render(_ text: String, file: String, values: [String: String]) throws -> String {
    let found = scan(text)
    var problems: [Problem] = []
    var output = ""
    output.reserveCapacity(text.utf8.count)
    var copied = text.startIndex
    for occurrence in found {
      switch occurrence.kind {
      case .placeholder(let name):
        if let value = values[name] {
          output += text[copied..<occurrence.range.lowerBound]
          output += value
          copied = occurrence.range.upperBound
        } else {
          problems.append(Problem(occurrence: occurrence, unknownName: name))
        }
      case .malformed:
        problems.append(Problem(occurrence: occurrence, unknownName: nil))
      }
    }
    guard problems.isEmpty else {
      throw error(problems, in: text, file: file, known: values.keys.sorted())
    }
    output += text[copied...]
    return output
  }

  /// The names every template has besides the Boxfile's `var`s (BoxBuild gives them values).
  public static let builtInNames = ["http_ip", "http_port", "user", "password", "hostname", "name", "version"]

  /// One problem of a template, for a diagnostic: its line and column (1-based, columns in
  /// characters), how many characters it covers, and the message with its fix.
  public struct Issue: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public var length: Int
    public var message: String
  }

  /// Every problem `render` would find with these `known` names, without throwing.
  public static func issues(in text: String, known: [String]) -> [Issue] {
    let names = Set(known)
    return scan(text).compactMap { occurrence in
      let written = quoted(text, occurrence)
      let message: String
      switch occurrence.kind {
      case .placeholder(let name):
        guard !names.contains(name) else { return nil }
        let fix =
          Suggestions.closest(to: name, in: known).map { "did you mean '{{ \($0) }}'?" }
          ?? "the known placeholders are \(known.sorted().map { "{{ \($0) }}" }.joined(separator: ", ")); "
          + "a Boxfile `var NAME` defines a new one"
        message = "unknown placeholder '\(written)'; \(fix)"
      case .malformed(closed: true):
        message =
          "'\(written)' is not a placeholder: a name is letters, digits and '_', not starting with a digit"
      case .malformed(closed: false):
        message = "'\(written)' has no closing '}}' on its line"
      }
      return Issue(
        line: occurrence.line, column: occurrence.column, length: text[occurrence.range].count, message: message)
    }
  }

  /// The names of the well-formed placeholders in `text`, each once, in order of first use.
  public static func placeholders(in text: String) -> [String] {
    var seen = Set<String>()
    var names: [String] = []
    for occurrence in scan(text) {
      if case .placeholder(let name) = occurrence.kind, seen.insert(name).inserted {
        names.append(name)
      }
    }
    return names
  }

  // MARK: - Scanning

  struct Occurrence {
    enum Kind: Equatable {
      case placeholder(String)
      /// A `{{` that starts no placeholder; `closed` says whether a `}}` follows on its line.
      case malformed(closed: Bool)
    }
    var kind: Kind
    var range: Range<String.Index>
    var line: Int
    var column: Int
  }

  /// Every `{{` in `text`, as a placeholder or as a malformed one.
  static func scan(_ text: String) -> [Occurrence] {
    var found: [Occurrence] = []
    var line = 1
    var column = 1
    var index = text.startIndex
    while index < text.endIndex {
      let character = text[index]
      let next = text.index(after: index)
      guard character == "{", next < text.endIndex, text[next] == "{" else {
        if character == "\n" || character == "\r\n" {
          line += 1
          column = 1
        } else {
          column += 1
        }
        index = next
        continue
      }
      let end: String.Index
      let kind: Occurrence.Kind
      if let (name, placeholderEnd) = placeholder(in: text, at: index) {
        (kind, end) = (.placeholder(name), placeholderEnd)
      } else if let closing = closingBraces(in: text, after: text.index(after: next)) {
        (kind, end) = (.malformed(closed: true), closing)
      } else {
        (kind, end) = (.malformed(closed: false), text.index(after: next))
      }
      found.append(Occurrence(kind: kind, range: index..<end, line: line, column: column))
      // What was consumed holds no line break: placeholders hold spaces and tabs only, and the
      // search for `}}` stops at the end of the line.
      column += text[index..<end].count
      index = end
    }
    return found
  }

  /// The name and end of the placeholder starting at `start` (on its `{{`), if it is well formed.
  private static func placeholder(in text: String, at start: String.Index) -> (String, String.Index)? {
    var index = text.index(start, offsetBy: 2)
    skipBlanks(in: text, &index)
    let nameStart = index
    guard index < text.endIndex, isNameStart(text[index]) else { return nil }
    while index < text.endIndex, isNameContinuation(text[index]) {
      index = text.index(after: index)
    }
    let name = String(text[nameStart..<index])
    skipBlanks(in: text, &index)
    guard text[index...].hasPrefix("}}") else { return nil }
    return (name, text.index(index, offsetBy: 2))
  }

  /// The end of the first `}}` at or after `index` on the same line.
  private static func closingBraces(in text: String, after index: String.Index) -> String.Index? {
    var index = index
    while index < text.endIndex, text[index] != "\n", text[index] != "\r\n" {
      if text[index...].hasPrefix("}}") { return text.index(index, offsetBy: 2) }
      index = text.index(after: index)
    }
    return nil
  }

  private static func skipBlanks(in text: String, _ index: inout String.Index) {
    while index < text.endIndex, text[index] == " " || text[index] == "\t" {
      index = text.index(after: index)
    }
  }

  private static func isNameStart(_ character: Character) -> Bool {
    character == "_" || (character.isASCII && character.isLetter)
  }

  private static func isNameContinuation(_ character: Character) -> Bool {
    isNameStart(character) || (character.isASCII && character.isNumber)
  }

  // MARK: - Errors

  private struct Problem {
    var occurrence: Occurrence
    /// Set for a well-formed placeholder whose name has no value.
    var unknownName: String?
  }

  private static func error(_ problems: [Problem], in text: String, file: String, known: [String]) -> CaravanError {
    var lines: [String] = []
    var suggestions: [(name: String, written: String)] = []
    var hasUnknown = false
    var hasMalformed = false
    for problem in problems {
      let place = "template '\(file)' line \(problem.occurrence.line), column \(problem.occurrence.column)"
      let written = quoted(text, problem.occurrence)
      if let name = problem.unknownName {
        hasUnknown = true
        lines.append("\(place): unknown placeholder '\(written)'")
        if let closest = Suggestions.closest(to: name, in: known) {
          suggestions.append((closest, written))
        }
      } else if case .malformed(closed: true) = problem.occurrence.kind {
        hasMalformed = true
        lines.append(
          "\(place): '\(written)' is not a placeholder: a name is letters, digits and '_', not starting with a digit")
      } else {
        hasMalformed = true
        lines.append("\(place): '\(written)' has no closing '}}' on its line")
      }
    }
    var hint: [String] = []
    if problems.count == 1, let only = suggestions.first {
      hint.append("Did you mean '{{ \(only.name) }}'?")
    } else if !suggestions.isEmpty {
      hint.append("Did you mean \(suggestions.map { "'{{ \($0.name) }}' for '\($0.written)'" }.listed)?")
    }
    if hasUnknown {
      let names = known.isEmpty ? "none" : known.map { "{{ \($0) }}" }.joined(separator: ", ")
      hint.append("The known placeholders are \(names); a Boxfile `var NAME` defines a new one.")
    }
    if hasMalformed {
      hint.append(
        "Write a placeholder as {{ NAME }}; for a literal '{{', give a Boxfile var that value "
          + "(var lbrace, default: \"{{\") and write {{ lbrace }}.")
    }
    return CaravanError(.invalidInput, lines.joined(separator: "\n"), hint: hint.joined(separator: " "))
  }

  /// The occurrence as written, cut at 40 characters for one that runs to the end of its line.
  private static func quoted(_ text: String, _ occurrence: Occurrence) -> String {
    guard case .malformed(closed: false) = occurrence.kind else {
      return String(text[occurrence.range])
    }
    var end = occurrence.range.lowerBound
    var count = 0
    while end < text.endIndex, text[end] != "\n", text[end] != "\r\n", count < 40 {
      end = text.index(after: end)
      count += 1
    }
    let shown = String(text[occurrence.range.lowerBound..<end])
    return end < text.endIndex && count == 40 ? shown + "…" : shown
  }
}
