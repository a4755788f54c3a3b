// The syntax tree: statements with arguments and optional blocks, exactly as written.
// Meaning (which settings exist, which values they take) is the validator's business.

import Spec
import Support

struct Value: Equatable {
  indirect enum Kind: Equatable {
    case string(StringLiteral, multiline: Bool)
    case integer(Int)
    case size(bytes: UInt64)
    case duration(milliseconds: Int)
    case bool(Bool)
    case name(String)
    case list([Value])
    case map([MapEntry])
    /// `value -> value`
    case pair(Value, Value)
  }

  var kind: Kind
  var location: SourceLocation
  /// Length in characters on the first line (the caret's extent).
  var length: Int
  /// Source text of a scalar value other than a string, for messages.
  var text: String
  /// Set on a value read from a string (`cpus "${n}"`): what its variables held
  /// (`${n} is "0" (from --var)`), added to every message about it; "" when it has none.
  var origin: String?

  /// How a message names this value: `integer 0`, `string "2"`, `name 'rsnc'`, `a list`.
  var described: String {
    switch kind {
    case .string(let literal, let multiline): return multiline ? "a multi-line string" : "string \(literal.quoted)"
    case .integer: return "integer \(text)"
    case .size: return "size \(text)"
    case .duration: return "duration \(text)"
    case .bool: return "boolean \(text)"
    case .name(let name): return "name '\(name)'"
    case .list: return "a list"
    case .map: return "a map"
    case .pair: return "a mapping 'A -> B'"
    }
  }
}

struct MapEntry: Equatable {
  var key: String
  var keyLocation: SourceLocation
  var keyLength: Int
  /// Set when the key was a string with `${…}` in it (not allowed).
  var keyHasInterpolation: Bool
  var value: Value
}

struct Argument: Equatable {
  /// `name` of `name: value`; nil for a positional argument.
  var label: String?
  var labelLocation: SourceLocation
  var labelLength: Int
  var value: Value
}

struct Statement: Equatable {
  var name: String
  var location: SourceLocation
  var length: Int
  var arguments: [Argument]
  var block: Block?

  var positional: [Value] { arguments.compactMap { $0.label == nil ? $0.value : nil } }
}

struct Block: Equatable {
  var statements: [Statement]
  var location: SourceLocation
}

struct SourceFile: Equatable {
  var statements: [Statement]
}
