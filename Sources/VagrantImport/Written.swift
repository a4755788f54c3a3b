// The Machinefile being written, as values: each setting with its values and options,
// rendered to text only at the end (so machines can be compared and folded first).

/// A value as the Machinefile writes it.
indirect enum Written: Equatable, Sendable {
  /// A plain string: written quoted, with `"`, `\` and `$` escaped.
  case text(String)
  /// A string already in the Machinefile's form, with its `${…}` (written between quotes as is).
  case template(String)
  /// A script body: verbatim (no interpolation), as a `"""` block when it has several lines.
  case script(String)
  case integer(Int)
  case bool(Bool)
  /// A bare name: `private`, `rsync`, `tcg`.
  case word(String)
  /// A size or duration as written: `2GiB`, `30s`.
  case unit(String)
  case list([Written])
  case map([Entry])
  case pair(Written, Written)

  struct Entry: Equatable, Sendable {
    var key: String
    var value: Written
  }

  /// The plain text of a `.text`, or a template's.
  var string: String? {
    switch self {
    case .text(let text), .template(let text): return text
    default: return nil
    }
  }
}

/// One statement of the Machinefile. Single-valued settings of the `ssh` and `libvirt`
/// blocks are named `ssh.user`, `libvirt.nested`, and grouped into their block when written.
struct Setting: Equatable, Sendable {
  var name: String
  var values: [Written] = []
  var options: [Written.Entry] = []
  /// Comment lines written above it (a trigger's `info`).
  var comments: [String] = []
  /// The Vagrantfile line it came from (not compared: folded machines come from several).
  var line = 0

  init(_ name: String, _ values: [Written] = [], options: [(String, Written)] = [], line: Int) {
    self.name = name
    self.values = values
    self.options = options.map { Written.Entry(key: $0.0, value: $0.1) }
    self.line = line
  }

  static func == (left: Setting, right: Setting) -> Bool {
    left.name == right.name && left.values == right.values && left.options == right.options
      && left.comments == right.comments
  }

  static let singleValued: Set<String> = [
    "box", "cpus", "memory", "disk", "hostname", "boot_timeout", "graceful_halt_timeout",
  ]

  /// Whether a second one replaces the first (as a machine's `memory` replaces the top level's).
  var isSingleValued: Bool { Setting.singleValued.contains(name) || name.contains(".") }

  func option(_ key: String) -> Written? { options.first { $0.key == key }?.value }

  mutating func setOption(_ key: String, _ value: Written) {
    if let index = options.firstIndex(where: { $0.key == key }) {
      options[index].value = value
    } else {
      options.append(Written.Entry(key: key, value: value))
    }
  }
}

/// Text of values and settings, in the Machinefile's syntax.
enum Render {
  static func statement(_ setting: Setting, indent: String) -> String {
    var parts = setting.values.map { value($0, indent: indent) }
    parts += setting.options.map { "\($0.key): " + value($0.value, indent: indent) }
    let name = setting.name.split(separator: ".").last.map(String.init) ?? setting.name
    let head = parts.isEmpty ? name : name + " " + parts.joined(separator: ", ")
    return setting.comments.map { indent + "# " + $0 + "\n" }.joined() + indent + head + "\n"
  }

  static func value(_ written: Written, indent: String) -> String {
    switch written {
    case .text(let text): return quoted(text)
    case .template(let text): return "\"" + text + "\""
    case .script(let body): return script(body, indent: indent)
    case .integer(let number): return "\(number)"
    case .bool(let flag): return flag ? "true" : "false"
    case .word(let word), .unit(let word): return word
    case .list(let values): return "[" + values.map { value($0, indent: indent) }.joined(separator: ", ") + "]"
    case .map(let entries):
      return "{" + entries.map { key($0.key) + ": " + value($0.value, indent: indent) }.joined(separator: ", ") + "}"
    case .pair(let left, let right): return value(left, indent: indent) + " -> " + value(right, indent: indent)
    }
  }

  /// A string with the escapes the lexer reads; `$` as `$$` (no interpolation).
  static func quoted(_ text: String) -> String { "\"" + escaped(text, dollars: true) + "\"" }

  static func escaped(_ text: String, dollars: Bool) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "$" where dollars: out += "$$"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7f {
          out += "\\u{" + String(scalar.value, radix: 16) + "}"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }

  /// A map key: a bare name when it is one, else a quoted string.
  static func key(_ key: String) -> String {
    isName(key) ? key : quoted(key)
  }

  static func isName(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
    else { return false }
    return text.unicodeScalars.allSatisfy {
      $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
    }
  }

  /// A verbatim script body: a `"""` block (no escapes, no interpolation) when it has
  /// several lines, else a one-line string (whose escapes are read, `$` kept).
  static func script(_ body: String, indent: String) -> String {
    var text = body
    if text.hasSuffix("\n") { text.removeLast() }
    let blockSafe = !text.contains("\"\"\"") && !text.contains("\r")
    guard text.contains("\n"), blockSafe else { return "\"" + escaped(text, dollars: false) + "\"" }
    let inner = indent + "  "
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      line.isEmpty ? "" : inner + line
    }
    return "\"\"\"\n" + lines.joined(separator: "\n") + "\n" + inner + "\"\"\""
  }
}
