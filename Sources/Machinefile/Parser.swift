// Reads tokens into statements following the grammar:
//
//   file       := statement*
//   statement  := NAME arguments? block? terminator
//   arguments  := argument ("," argument)*
//   argument   := value | NAME ":" value
//   value      := STRING | INTEGER | SIZE | DURATION | BOOL | NAME | list | map | value "->" value
//   block      := "{" statement* "}"
//
// A statement continues on the next line inside `[...]`, inside a map and after a `,`.
// Parsing stops at the first syntax error.

import Spec
import Support

struct Parser {
  private let tokens: [Token]
  private var index = 0

  init(tokens: [Token]) {
    self.tokens = tokens
  }

  static func parse(_ source: String) throws -> SourceFile {
    var parser = Parser(tokens: try Lexer.tokenize(source))
    return try parser.parseFile()
  }

  mutating func parseFile() throws -> SourceFile {
    SourceFile(statements: try parseStatements(openedBy: nil))
  }

  // MARK: Cursor

  private var current: Token { tokens[index] }
  private var next: Token { tokens[min(index + 1, tokens.count - 1)] }

  private mutating func consume() -> Token {
    let token = tokens[index]
    if index < tokens.count - 1 { index += 1 }
    return token
  }

  private mutating func skipNewlines() {
    while current.kind == .newline { _ = consume() }
  }

  private func error(_ message: String, at token: Token) -> SyntaxError {
    SyntaxError(message: message, location: token.location, length: max(token.length, 1))
  }

  // MARK: Statements

  private mutating func parseStatements(openedBy brace: Token?) throws -> [Statement] {
    var statements: [Statement] = []
    while true {
      switch current.kind {
      case .newline, .semicolon:
        _ = consume()
      case .endOfFile:
        if let brace {
          throw error(
            "'{' opened at \(brace.location) is never closed; add '}' at the end of the block", at: brace)
        }
        return statements
      case .rightBrace:
        if brace == nil {
          throw error("unexpected '}' with no matching '{'; remove it", at: current)
        }
        _ = consume()
        return statements
      case .name:
        statements.append(try parseStatement())
      default:
        throw error("expected a setting name, found \(current.described)", at: current)
      }
    }
  }

  private var atStatementEnd: Bool {
    switch current.kind {
    case .newline, .semicolon, .endOfFile, .rightBrace: return true
    default: return false
    }
  }

  private mutating func parseStatement() throws -> Statement {
    let nameToken = consume()
    guard case .name(let name) = nameToken.kind else {
      throw error("expected a setting name, found \(nameToken.described)", at: nameToken)
    }
    var arguments: [Argument] = []
    if !atStatementEnd && current.kind != .leftBrace {
      arguments.append(try parseArgument(of: name))
      while current.kind == .comma {
        _ = consume()
        skipNewlines()
        arguments.append(try parseArgument(of: name))
      }
    }
    var block: Block?
    if current.kind == .leftBrace {
      let brace = consume()
      block = Block(statements: try parseStatements(openedBy: brace), location: brace.location)
    }
    switch current.kind {
    case .newline, .semicolon:
      _ = consume()
    case .endOfFile, .rightBrace:
      break
    default:
      let message =
        block == nil
        ? "expected ',' or the end of the line after the arguments of '\(name)', found \(current.described)"
        : "expected the end of the line after the block of '\(name)', found \(current.described)"
      throw error(message, at: current)
    }
    return Statement(
      name: name, location: nameToken.location, length: nameToken.length, arguments: arguments, block: block)
  }

  private mutating func parseArgument(of statement: String) throws -> Argument {
    if case .name(let label) = current.kind, next.kind == .colon {
      let labelToken = consume()
      _ = consume()
      let value = try parseValue(allowMap: true, context: "'\(label):'")
      return Argument(
        label: label, labelLocation: labelToken.location, labelLength: labelToken.length, value: value)
    }
    let value = try parseValue(allowMap: false, context: "'\(statement)'")
    return Argument(label: nil, labelLocation: value.location, labelLength: value.length, value: value)
  }

  // MARK: Values

  private mutating func parseValue(allowMap: Bool, context: @autoclosure () -> String) throws -> Value {
    var value = try parsePrimary(allowMap: allowMap, context: context())
    while current.kind == .arrow {
      _ = consume()
      let right = try parsePrimary(allowMap: false, context: "'->'")
      let length =
        right.location.line == value.location.line
        ? right.location.column + right.length - value.location.column : value.length
      value = Value(kind: .pair(value, right), location: value.location, length: length, text: "")
    }
    return value
  }

  private mutating func parsePrimary(allowMap: Bool, context: @autoclosure () -> String) throws -> Value {
    let token = current
    func scalar(_ kind: Value.Kind) -> Value {
      _ = consume()
      return Value(kind: kind, location: token.location, length: token.length, text: token.text)
    }
    switch token.kind {
    case .string(let literal, let multiline): return scalar(.string(literal, multiline: multiline))
    case .integer(let value): return scalar(.integer(value))
    case .size(let bytes): return scalar(.size(bytes: bytes))
    case .duration(let milliseconds): return scalar(.duration(milliseconds: milliseconds))
    case .bool(let value): return scalar(.bool(value))
    case .name(let name): return scalar(.name(name))
    case .leftBracket: return try parseList()
    case .leftBrace where allowMap: return try parseMap()
    default:
      throw error("expected a value after \(context()), found \(token.described)", at: token)
    }
  }

  private mutating func parseList() throws -> Value {
    let open = consume()
    var elements: [Value] = []
    skipNewlines()
    while current.kind != .rightBracket {
      if current.kind == .endOfFile {
        throw error("'[' opened at \(open.location) is never closed; add ']' at the end of the list", at: open)
      }
      elements.append(try parseValue(allowMap: false, context: "'['"))
      skipNewlines()
      if current.kind == .comma {
        _ = consume()
        skipNewlines()
      } else if current.kind != .rightBracket {
        if current.kind == .endOfFile {
          throw error(
            "'[' opened at \(open.location) is never closed; add ']' at the end of the list", at: open)
        }
        throw error(
          "expected ',' or ']' in list, found \(current.described); is the '[' at \(open.location) missing its ']'?",
          at: current)
      }
    }
    let close = consume()
    return Value(kind: .list(elements), location: open.location, length: span(open, close), text: "")
  }

  private mutating func parseMap() throws -> Value {
    let open = consume()
    var entries: [MapEntry] = []
    skipNewlines()
    while current.kind != .rightBrace {
      let keyToken = current
      let key: String
      var interpolated = false
      switch keyToken.kind {
      case .name(let name):
        key = name
      case .string(let literal, false):
        key = literal.plainText ?? literal.quoted
        interpolated = literal.plainText == nil
      case .endOfFile:
        throw error("'{' opened at \(open.location) is never closed; add '}' at the end of the map", at: open)
      default:
        throw error("expected a key (NAME: value) in map, found \(keyToken.described)", at: keyToken)
      }
      _ = consume()
      guard current.kind == .colon else {
        throw error("expected ':' after map key '\(key)', found \(current.described)", at: current)
      }
      _ = consume()
      let value = try parseValue(allowMap: true, context: "'\(key):'")
      entries.append(
        MapEntry(
          key: key, keyLocation: keyToken.location, keyLength: keyToken.length,
          keyHasInterpolation: interpolated, value: value))
      skipNewlines()
      if current.kind == .comma {
        _ = consume()
        skipNewlines()
      } else if current.kind != .rightBrace {
        if current.kind == .endOfFile {
          throw error("'{' opened at \(open.location) is never closed; add '}' at the end of the map", at: open)
        }
        throw error(
          "expected ',' or '}' in map, found \(current.described); is the '{' at \(open.location) missing its '}'?",
          at: current)
      }
    }
    let close = consume()
    return Value(kind: .map(entries), location: open.location, length: span(open, close), text: "")
  }

  private func span(_ open: Token, _ close: Token) -> Int {
    close.location.line == open.location.line ? close.location.column + 1 - open.location.column : 1
  }
}
