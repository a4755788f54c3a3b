// Tokens of the Machinefile language. Every token carries where it starts
// (line:column, 1-based, columns counted in Unicode scalars) and its length.

import Spec
import Support

/// One piece of a string literal. Strings stay as parts until lowering so that
/// `${index}` and `${name}` can expand once per copy of a `count:` machine.
enum StringPart: Equatable {
  case text(String)
  /// `${NAME}` or `${NAME:-fallback}`.
  case environment(name: String, fallback: String?, location: SourceLocation, length: Int)
  /// `${index}`: the 1-based index of the machine copy.
  case machineIndex(location: SourceLocation, length: Int)
  /// `${name}`: the (expanded) name of the machine.
  case machineName(location: SourceLocation, length: Int)
  /// A `${…}` that could not be read; the validator reports it.
  case invalid(message: String, location: SourceLocation, length: Int)
}

struct StringLiteral: Equatable {
  var parts: [StringPart]
  /// The text as a script body reads it: no interpolation (`${…}` and `$$` are kept as
  /// written), escapes read in a one-line string, none in a multi-line one. Set by the lexer.
  var verbatim: String?

  init(parts: [StringPart], verbatim: String? = nil) {
    self.parts = parts
    self.verbatim = verbatim
  }

  /// Literals are equal when their parts are: the verbatim text follows from the same source.
  static func == (a: StringLiteral, b: StringLiteral) -> Bool { a.parts == b.parts }

  /// The script body's text: `verbatim` when the lexer made the literal, else the plain text.
  var scriptText: String { verbatim ?? plainText ?? "" }

  /// The text when the literal has no interpolation at all.
  var plainText: String? {
    var result = ""
    for part in parts {
      guard case .text(let text) = part else { return nil }
      result += text
    }
    return result
  }

  /// The literal as it could be written in a Machinefile, for messages: `"web-${index}"`.
  var quoted: String {
    var result = "\""
    for part in parts {
      switch part {
      case .text(let text):
        for scalar in text.unicodeScalars {
          switch scalar {
          case "\"": result += "\\\""
          case "\\": result += "\\\\"
          case "\n": result += "\\n"
          case "\t": result += "\\t"
          case "$": result += "$$"
          default: result.unicodeScalars.append(scalar)
          }
        }
      case .environment(let name, let fallback, _, _):
        result += fallback.map { "${\(name):-\($0)}" } ?? "${\(name)}"
      case .machineIndex: result += "${index}"
      case .machineName: result += "${name}"
      case .invalid: result += "${…}"
      }
    }
    return result + "\""
  }

  /// Whether the literal mentions `${index}` or `${name}`.
  var usesMachineVariables: Bool {
    parts.contains {
      switch $0 {
      case .machineIndex, .machineName: return true
      default: return false
      }
    }
  }
}

enum TokenKind: Equatable {
  case name(String)
  case string(StringLiteral, multiline: Bool)
  case integer(Int)
  case size(bytes: UInt64)
  case duration(milliseconds: Int)
  case bool(Bool)
  case arrow
  case comma
  case colon
  case semicolon
  case newline
  case leftBrace
  case rightBrace
  case leftBracket
  case rightBracket
  case endOfFile
}

struct Token: Equatable {
  var kind: TokenKind
  var location: SourceLocation
  /// Length in Unicode scalars on the token's first line.
  var length: Int
  /// The token's source text (for messages); empty for punctuation and strings (see `StringLiteral.quoted`).
  var text: String

  /// How a message names this token: `integer '80'`, `'}'`, `end of line`.
  var described: String {
    switch kind {
    case .name(let name): return "name '\(name)'"
    case .string(let literal, let multiline): return multiline ? "a multi-line string" : "string \(literal.quoted)"
    case .integer: return "integer '\(text)'"
    case .size: return "size '\(text)'"
    case .duration: return "duration '\(text)'"
    case .bool: return "'\(text)'"
    case .arrow: return "'->'"
    case .comma: return "','"
    case .colon: return "':'"
    case .semicolon: return "';'"
    case .newline: return "end of line"
    case .leftBrace: return "'{'"
    case .rightBrace: return "'}'"
    case .leftBracket: return "'['"
    case .rightBracket: return "']'"
    case .endOfFile: return "end of file"
    }
  }
}

/// A lexical or grammatical error: parsing stops at the first one.
struct SyntaxError: Error, Equatable {
  var message: String
  var location: SourceLocation
  var length: Int
}
