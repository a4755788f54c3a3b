// A Ruby value as the recorder writes it: JSON's own types, a Hash as its ordered
// entries (`{"hash": [[KEY, VALUE], …]}`), and any other object as its `inspect` text.

import Foundation

/// A value a Vagrantfile gave a setting.
public indirect enum RubyValue: Decodable, Equatable, Sendable {
  public struct Entry: Equatable, Sendable {
    public var key: String
    public var value: RubyValue
  }

  case null
  case bool(Bool)
  case integer(Int)
  case double(Double)
  case string(String)
  case list([RubyValue])
  case hash([Entry])
  /// An object JSON cannot hold (a Range, a Proc, …), as Ruby's `inspect` shows it.
  case object(String)

  private enum Keys: String, CodingKey { case hash, ruby }

  public init(from decoder: any Decoder) throws {
    if let container = try? decoder.container(keyedBy: Keys.self) {
      if let text = try container.decodeIfPresent(String.self, forKey: .ruby) {
        self = .object(text)
        return
      }
      let pairs = try container.decode([[RubyValue]].self, forKey: .hash)
      self = .hash(
        pairs.compactMap { pair in
          guard pair.count == 2, case .string(let key) = pair[0] else { return nil }
          return Entry(key: key, value: pair[1])
        })
      return
    }
    let single = try decoder.singleValueContainer()
    if single.decodeNil() {
      self = .null
    } else if let flag = try? single.decode(Bool.self) {
      self = .bool(flag)
    } else if let number = try? single.decode(Int.self) {
      self = .integer(number)
    } else if let number = try? single.decode(Double.self) {
      self = .double(number)
    } else if let text = try? single.decode(String.self) {
      self = .string(text)
    } else {
      self = .list(try single.decode([RubyValue].self))
    }
  }

  /// The text of a String or Symbol.
  var text: String? {
    if case .string(let text) = self { return text }
    return nil
  }

  /// An Integer, or a String of digits (Vagrantfiles write `"2048"` too).
  var integer: Int? {
    switch self {
    case .integer(let number): return number
    case .string(let text): return Int(text.trimmingCharacters(in: .whitespaces))
    default: return nil
    }
  }

  /// true/false, or the strings Vagrantfiles use for them.
  var bool: Bool? {
    switch self {
    case .bool(let flag): return flag
    case .string("true"), .string("yes"): return true
    case .string("false"), .string("no"): return false
    default: return nil
    }
  }

  var entries: [Entry]? {
    if case .hash(let entries) = self { return entries }
    return nil
  }

  /// A list, or a single value as a list of one.
  var elements: [RubyValue] {
    switch self {
    case .list(let values): return values
    case .null: return []
    default: return [self]
    }
  }

  /// The value at `key` of a Hash.
  subscript(key: String) -> RubyValue? {
    entries?.first { $0.key == key }?.value
  }

  /// As Ruby's `inspect` would show it, for messages.
  var shown: String {
    switch self {
    case .null: return "nil"
    case .bool(let flag): return "\(flag)"
    case .integer(let number): return "\(number)"
    case .double(let number): return "\(number)"
    case .string(let text): return "\"\(text)\""
    case .list(let values): return "[" + values.map(\.shown).joined(separator: ", ") + "]"
    case .hash(let entries): return "{" + entries.map { "\($0.key): \($0.value.shown)" }.joined(separator: ", ") + "}"
    case .object(let text): return text
    }
  }
}
