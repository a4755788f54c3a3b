// Reading typed values out of the syntax tree. Each reader reports a wrong type with the
// thing, the value and the fix, and returns nil.

import Spec
import Support

extension Validator {
  func wrongType(_ value: Value, _ subject: @autoclosure () -> String, expected: String, example: String?) {
    var message = "\(subject()) expects \(expected), got \(value.described)"
    if case .name(let name) = value.kind, expected.hasPrefix("a string") {
      message += "; write it in quotes: \"\(name)\""
    } else if let example {
      message += ", e.g. `\(example)`"
    }
    error(message, at: value)
  }

  func integer(_ value: Value, _ subject: @autoclosure () -> String, example: String? = nil) -> Int? {
    guard let value = typed(value) else { return nil }
    guard case .integer(let number) = value.kind else {
      wrongType(value, subject(), expected: "an integer", example: example)
      return nil
    }
    return number
  }

  func integer(_ value: Value, _ subject: @autoclosure () -> String, in range: ClosedRange<Int>, example: String? = nil)
    -> Int?
  {
    guard let value = typed(value), let number = integer(value, subject(), example: example) else { return nil }
    guard range.contains(number) else {
      error("\(subject()) must be between \(range.lowerBound) and \(range.upperBound), got \(number)", at: value)
      return nil
    }
    return number
  }

  func size(_ value: Value, _ subject: @autoclosure () -> String, example: String) -> UInt64? {
    guard let value = typed(value) else { return nil }
    guard case .size(let bytes) = value.kind else {
      var expected = "a size with a unit (K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
      if case .name(let word) = value.kind, let first = word.unicodeScalars.first, first.properties.numericType != nil {
        expected = "a size; '\(word)' has an unknown unit (use K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
        error("\(subject()) expects \(expected), e.g. `\(example)`", at: value)
        return nil
      }
      wrongType(value, subject(), expected: expected, example: example)
      return nil
    }
    return bytes
  }

  func duration(_ value: Value, _ subject: @autoclosure () -> String, example: String) -> Int? {
    guard let value = typed(value) else { return nil }
    guard case .duration(let milliseconds) = value.kind else {
      wrongType(value, subject(), expected: "a duration (ms, s, m or h)", example: example)
      return nil
    }
    return milliseconds
  }

  func bool(_ value: Value, _ subject: @autoclosure () -> String) -> Bool? {
    guard let value = typed(value) else { return nil }
    guard case .bool(let flag) = value.kind else {
      wrongType(value, subject(), expected: "true or false", example: nil)
      return nil
    }
    return flag
  }

  func string(_ value: Value, _ subject: @autoclosure () -> String, example: String? = nil) -> StringLiteral? {
    guard case .string(let literal, _) = value.kind else {
      wrongType(value, subject(), expected: "a string", example: example)
      return nil
    }
    return literal
  }

  /// A string, or a bare name standing for itself (`cpu_mode host-passthrough`).
  func stringOrName(_ value: Value, _ subject: @autoclosure () -> String, example: String? = nil) -> StringLiteral? {
    switch value.kind {
    case .string(let literal, _): return literal
    case .name(let name): return StringLiteral(parts: [.text(name)])
    default:
      wrongType(value, subject(), expected: "a name or a string", example: example)
      return nil
    }
  }

  /// One of a fixed set of words, written bare or quoted.
  /// A string with `${…}` is interpolated first (`accel "${accel:-auto}"`), and a wrong
  /// word is reported with what its variables held.
  func choice(_ value: Value, _ subject: @autoclosure () -> String, among choices: [String]) -> String? {
    let word: String
    var value = value
    switch value.kind {
    case .name(let name): word = name
    case .string(let literal, false) where literal.plainText != nil: word = literal.plainText ?? ""
    case .string(_, false):
      guard let expanded = typed(value) else { return nil }
      value = expanded
      word = expanded.text
    default:
      error("\(subject()) expects one of \(choices.listed), got \(value.described)", at: value)
      return nil
    }
    guard choices.contains(word) else {
      let suggestion = Suggestions.didYouMean(word, in: choices)
      let hint = suggestion.isEmpty ? "; valid values are \(choices.listed)" : suggestion
      error("unknown value '\(word)' for \(subject())\(hint)", at: value)
      return nil
    }
    return word
  }

  func choice<E: RawRepresentable & CaseIterable>(_ value: Value, _ subject: @autoclosure () -> String, as type: E.Type)
    -> E?
  where E.RawValue == String {
    switch value.kind {
    case .name(let word):
      if let chosen = E(rawValue: word) { return chosen }
    case .string(let literal, false):
      if let word = literal.plainText, let chosen = E(rawValue: word) { return chosen }
    default:
      break
    }
    return choice(value, subject(), among: E.allCases.map(\.rawValue)).flatMap(E.init(rawValue:))
  }

  /// A scalar written where text is wanted: strings keep their `${…}`, numbers and names their text.
  private func textLike(_ value: Value) -> StringLiteral? {
    switch value.kind {
    case .string(let literal, _): return literal
    case .name(let name): return StringLiteral(parts: [.text(name)])
    case .integer, .size, .duration, .bool: return StringLiteral(parts: [.text(value.text)])
    default: return nil
    }
  }

  /// A list of strings (`["--quiet", "-x"]`); with `allowSingle`, one string stands for a list of one.
  func stringList(_ value: Value, _ subject: @autoclosure () -> String, example: String, allowSingle: Bool = false)
    -> [StringLiteral]?
  {
    guard case .list(let elements) = value.kind else {
      if allowSingle, case .string(let literal, _) = value.kind { return [literal] }
      wrongType(value, subject(), expected: "a list", example: example)
      return nil
    }
    var result: [StringLiteral] = []
    var valid = true
    for element in elements {
      if let literal = textLike(element) {
        result.append(literal)
      } else {
        error("the elements of \(subject()) must be strings, got \(element.described)", at: element)
        valid = false
      }
    }
    return valid ? result : nil
  }

  /// A map's entries, each key once: a duplicate is an error at its key naming the first
  /// (`keyNoun` says what a key is: a key, a machine), `checkKey` vets each key, and
  /// `convert` reads each value (saying itself what is wrong with it; nil is invalid).
  /// nil when anything was wrong, after every entry was looked at.
  func mapEntries<T>(
    _ value: Value, _ subject: @autoclosure () -> String, expected: String = "a map", example: String,
    keyNoun: String = "key", checkKey: ((String) -> String?)? = nil, _ convert: (MapEntry) -> T?
  ) -> [(key: String, value: T)]? {
    guard case .map(let entries) = value.kind else {
      wrongType(value, subject(), expected: expected, example: example)
      return nil
    }
    var result: [(key: String, value: T)] = []
    var seen: [String: SourceLocation] = [:]
    var valid = true
    for entry in entries {
      if let first = seen[entry.key] {
        error(
          "duplicate \(keyNoun) '\(entry.key)' in \(subject()); it is already given at \(first); remove one of them",
          at: entry.keyLocation, length: entry.keyLength)
        valid = false
        continue
      }
      seen[entry.key] = entry.keyLocation
      if let problem = checkKey?(entry.key) {
        error(problem, at: entry.keyLocation, length: entry.keyLength)
        valid = false
      }
      if let converted = convert(entry) { result.append((entry.key, converted)) } else { valid = false }
    }
    return valid ? result : nil
  }

  /// A map of names to text (`{KEY: "value", OTHER: 2}`); `checkKey` vets each key.
  func stringMap(
    _ value: Value, _ subject: @autoclosure () -> String, example: String, checkKey: ((String) -> String?)? = nil
  ) -> [(key: String, value: StringLiteral)]? {
    mapEntries(value, subject(), example: example, checkKey: checkKey) { entry in
      if let literal = textLike(entry.value) { return literal }
      error(
        "the values of \(subject()) must be strings, numbers or booleans, got \(entry.value.described) for '\(entry.key)'",
        at: entry.value)
      return nil
    }
  }

  /// `A -> B`.
  func pair(_ value: Value, _ subject: @autoclosure () -> String, expected: String, example: String) -> (Value, Value)?
  {
    guard case .pair(let left, let right) = value.kind else {
      error("\(subject()) expects \(expected), got \(value.described), e.g. `\(example)`", at: value)
      return nil
    }
    if case .pair = left.kind {
      error("\(subject()) takes one '->', e.g. `\(example)`", at: value)
      return nil
    }
    return (left, right)
  }
}
