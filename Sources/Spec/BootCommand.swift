import Support

/// One step of typing a `boot_command`: keys pressed together and released (one
/// `virDomainSendKey` call with Linux key codes, modifiers first), or a pause.
public enum BootAction: Equatable, Sendable {
  /// Key codes (``LinuxKey``) held together, modifiers first: `[KEY_LEFTSHIFT, KEY_A]` types `A`.
  case press([UInt32])
  case wait(milliseconds: Int)
}

/// The Boxfile's `boot_command`: strings typed as written on a US keyboard (`\n` is Enter, `\t`
/// Tab), except for `<…>` keys: `<enter> <return> <esc> <tab> <bs> <del> <spacebar> <insert>
/// <home> <end> <pageUp> <pageDown> <up> <down> <left> <right> <f1>`…`<f12>`, the modifiers
/// `<leftCtrlOn>`/`<leftCtrlOff>` (Alt, Shift, and `right…` for the right-hand keys), and
/// `<wait>` (1 s), `<waitN>`/`<waitNs>` (N seconds), `<waitNm>` (minutes), `<waitNms>`
/// (milliseconds). `<<` types a literal `<`. Key names are case-insensitive, as in Packer.
///
/// The strings are one sequence: a modifier turned on in one string is still held in the next,
/// and while it is on, every key pressed includes it (send-key cannot hold a key down between
/// calls). Every problem is reported at once, each with the string's number and the column
/// (both 1-based).
public enum BootCommand {
  public static func parse(_ strings: [String]) throws -> [BootAction] {
    let (actions, problems) = read(strings)
    guard problems.isEmpty else { throw error(problems) }
    return actions
  }

  /// Every problem of the strings, in order, without throwing: what the Boxfile validator
  /// reports at each string's place in the file.
  public static func problems(in strings: [String]) -> [Problem] {
    read(strings).problems
  }

  private static func read(_ strings: [String]) -> (actions: [BootAction], problems: [Problem]) {
    var parser = Parser()
    for (index, string) in strings.enumerated() {
      parser.parse(string, number: index + 1)
    }
    return (parser.actions, parser.problems)
  }

  /// `leftShift+a enter wait(2s)`: the actions in a line, for logs.
  public static func describe(_ actions: [BootAction]) -> String {
    actions.map { action in
      switch action {
      case .press(let keys): return keys.map(LinuxKey.name(of:)).joined(separator: "+")
      case .wait(let milliseconds) where milliseconds % 1000 == 0: return "wait(\(milliseconds / 1000)s)"
      case .wait(let milliseconds): return "wait(\(milliseconds)ms)"
      }
    }.joined(separator: " ")
  }

  /// The keys by their names as the spec spells them (matched case-insensitively).
  static let keys = namedKeys + LinuxKey.functionKeys.enumerated().map { (name: "f\($0.offset + 1)", code: $0.element) }

  private static let namedKeys: [(name: String, code: UInt32)] = [
    ("enter", LinuxKey.enter), ("return", LinuxKey.enter), ("esc", LinuxKey.esc), ("tab", LinuxKey.tab),
    ("bs", LinuxKey.backspace), ("del", LinuxKey.delete), ("spacebar", LinuxKey.space),
    ("insert", LinuxKey.insert), ("home", LinuxKey.home), ("end", LinuxKey.end), ("pageUp", LinuxKey.pageUp),
    ("pageDown", LinuxKey.pageDown), ("up", LinuxKey.up), ("down", LinuxKey.down), ("left", LinuxKey.left),
    ("right", LinuxKey.right),
  ]

  /// The modifiers, in the order they come in a press, by name without `On`/`Off`.
  static let modifiers: [(name: String, code: UInt32)] = [
    ("leftCtrl", LinuxKey.leftCtrl), ("leftAlt", LinuxKey.leftAlt), ("leftShift", LinuxKey.leftShift),
    ("rightCtrl", LinuxKey.rightCtrl), ("rightAlt", LinuxKey.rightAlt), ("rightShift", LinuxKey.rightShift),
  ]

  /// Every name between `<` and `>`, for did-you-mean.
  static let spellings: [String] =
    keys.map(\.name) + modifiers.flatMap { [$0.name + "On", $0.name + "Off"] } + ["wait"]

  /// A wait longer than this is surely a mistake (the build's own timeout defaults to 2 h).
  static let longestWait = 24 * 3_600_000

  /// One thing wrong in a `boot_command`: where (the string's number and the column in it,
  /// both 1-based, columns in characters), how many characters, what, and how to fix it.
  public struct Problem: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
      case unknownKey(String)
      case unclosed
      case badWait
      case notTypeable
      case offWithoutOn(String)

      var unknownKey: String? {
        if case .unknownKey(let name) = self { return name }
        return nil
      }
      var offModifier: String? {
        if case .offWithoutOn(let name) = self { return name }
        return nil
      }
    }
    public var kind: Kind
    public var string: Int
    public var column: Int
    public var length: Int
    /// What is wrong, without the place: `unknown key '<entr>'`.
    public var detail: String

    /// `boot_command string 2, column 3: unknown key '<entr>'`.
    public var message: String { "boot_command string \(string), column \(column): \(detail)" }

    /// The fix for this problem alone, as a Boxfile diagnostic ends with it.
    public var fix: String {
      switch kind {
      case .unknownKey(let name):
        if let closest = Suggestions.closest(to: name, in: BootCommand.spellings) {
          return "did you mean '<\(closest)>'?"
        }
        return "the keys are \(BootCommand.keyList); write '<<' to type a literal '<'"
      case .unclosed: return "write '<<' to type a literal '<'"
      case .badWait: return BootCommand.waitAdvice
      case .notTypeable:
        return "only printable ASCII, \\n (Enter) and \\t (Tab) can be typed; press other keys by their <…> names"
      case .offWithoutOn(let modifier): return "hold it with <\(modifier)On> before the keys it goes with"
      }
    }
  }

  static let keyList =
    namedKeys.map { "<\($0.name)>" }.joined(separator: " ")
    + " <f1>…<f12>, <leftCtrlOn>/<leftCtrlOff> (Alt, Shift, and right… for the right-hand keys) and <wait>"
  static let waitAdvice =
    "a wait is <wait> (1 s), <wait5> or <wait5s> (seconds), <wait2m> (minutes) or <wait500ms>, at most a day"

  /// Where the parser is: the string's number and the column in it.
  private struct Place {
    var string: Int
    var column: Int
    func problem(_ kind: Problem.Kind, _ length: Int, _ detail: String) -> Problem {
      Problem(kind: kind, string: string, column: column, length: length, detail: detail)
    }
  }

  private struct Parser {
    var actions: [BootAction] = []
    var problems: [Problem] = []
    /// The modifiers turned on, as indices into `modifiers`.
    var held = Set<Int>()

    mutating func parse(_ string: String, number: Int) {
      var column = 1
      var index = string.startIndex
      while index < string.endIndex {
        let place = Place(string: number, column: column)
        let character = string[index]
        var next = string.index(after: index)
        if character == "<" {
          if next < string.endIndex, string[next] == "<" {
            type("<", place: place)
            next = string.index(after: next)
          } else if let end = closingBracket(in: string, after: next) {
            special(String(string[next..<end]), place: place)
            next = string.index(after: end)
          } else {
            let shown = string[index...].prefix(20)
            let ellipsis = shown.endIndex < string.endIndex ? "…" : ""
            problems.append(place.problem(.unclosed, 1, "'<' has no closing '>' in '\(shown)\(ellipsis)'"))
          }
        } else {
          type(character, place: place)
        }
        column += string[index..<next].count
        index = next
      }
    }

    /// The `>` closing a key name starting at `start`: the name is ASCII letters, digits and dots.
    func closingBracket(in string: String, after start: String.Index) -> String.Index? {
      var index = start
      while index < string.endIndex {
        let character = string[index]
        if character == ">" { return index }
        guard character.isASCII, character.isLetter || character.isNumber || character == "." else { return nil }
        index = string.index(after: index)
      }
      return nil
    }

    mutating func type(_ character: Character, place: Place) {
      guard let (key, shifted) = LinuxKey.usLayout(character) else {
        let shown = character.unicodeScalars.map { scalar in
          scalar.properties.generalCategory == .control
            ? "U+" + String(scalar.value, radix: 16, uppercase: true).paddedLeft(to: 4)
            : String(scalar)
        }.joined()
        problems.append(place.problem(.notTypeable, 1, "'\(shown)' cannot be typed on a US keyboard"))
        return
      }
      var codes = modifiers.indices.filter(held.contains).map { modifiers[$0].code }
      let shiftHeld = codes.contains(LinuxKey.leftShift) || codes.contains(LinuxKey.rightShift)
      if shifted, !shiftHeld { codes.append(LinuxKey.leftShift) }
      press(codes + [key])
    }

    mutating func press(_ codes: [UInt32]) {
      actions.append(.press(codes))
    }

    mutating func special(_ name: String, place: Place) {
      let lowered = name.lowercased()
      let length = name.count + 2
      if let key = keys.first(where: { $0.name.lowercased() == lowered }) {
        press(modifiers.indices.filter(held.contains).map { modifiers[$0].code } + [key.code])
      } else if let modifier = modifiers.firstIndex(where: { $0.name.lowercased() + "on" == lowered }) {
        held.insert(modifier)
      } else if let modifier = modifiers.firstIndex(where: { $0.name.lowercased() + "off" == lowered }) {
        if held.remove(modifier) == nil {
          let spelled = modifiers[modifier].name
          problems.append(
            place.problem(
              .offWithoutOn(spelled), length,
              "'<\(name)>' releases \(spelled), which no '<\(spelled)On>' before it holds"))
        }
      } else if lowered.hasPrefix("wait") {
        if let milliseconds = BootCommand.waitMilliseconds(String(lowered.dropFirst(4))) {
          actions.append(.wait(milliseconds: milliseconds))
        } else {
          problems.append(place.problem(.badWait, length, "'<\(name)>' is not a wait"))
        }
      } else {
        problems.append(place.problem(.unknownKey(name), length, "unknown key '<\(name)>'"))
      }
    }
  }

  /// The duration after `wait` in `<wait…>`: empty (1 s), or a number (digits, with an optional
  /// fraction) and an optional unit `ms`, `s` (the default) or `m`; nil if malformed or over a day.
  static func waitMilliseconds(_ text: String) -> Int? {
    if text.isEmpty { return 1000 }
    let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
    let unit = text[number.endIndex...]
    let parts = number.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }), let value = Double(number) else {
      return nil
    }
    let scale: Double
    switch unit {
    case "ms": scale = 1
    case "", "s": scale = 1000
    case "m": scale = 60_000
    default: return nil
    }
    let milliseconds = (value * scale).rounded()
    guard milliseconds <= Double(longestWait) else { return nil }
    return Int(milliseconds)
  }

  private static func error(_ problems: [Problem]) -> CaravanError {
    var hint: [String] = []
    let unknown = problems.compactMap(\.kind.unknownKey)
    let suggestions = unknown.compactMap { name in
      Suggestions.closest(to: name, in: spellings).map { (name: name, closest: $0) }
    }
    if problems.count == 1, let only = suggestions.first {
      hint.append("Did you mean '<\(only.closest)>'?")
    } else if !suggestions.isEmpty {
      hint.append("Did you mean \(suggestions.map { "'<\($0.closest)>' for '<\($0.name)>'" }.listed)?")
    }
    if !unknown.isEmpty {
      hint.append("The keys are \(keyList).")
    }
    let kinds = problems.map(\.kind)
    if !unknown.isEmpty || kinds.contains(.unclosed) {
      hint.append("Write '<<' to type a literal '<'.")
    }
    if kinds.contains(.badWait) {
      hint.append("A" + waitAdvice.dropFirst() + ".")
    }
    if kinds.contains(.notTypeable) {
      hint.append(
        "Only printable ASCII, \\n (Enter) and \\t (Tab) can be typed; press other keys with their <…> names, and "
          + "put other text in a template the installer fetches.")
    }
    if let modifier = kinds.lazy.compactMap(\.offModifier).first {
      hint.append("Hold a modifier with <\(modifier)On> before the keys it goes with, and release it after them.")
    }
    return CaravanError(
      .invalidInput, problems.map(\.message).joined(separator: "\n"), hint: hint.joined(separator: " "))
  }
}

extension String {
  fileprivate func paddedLeft(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
