// Turns the UTF-8 bytes of a Machinefile into tokens. Works on bytes (no regexes) so a
// large file lexes in microseconds; columns count Unicode scalars, a tab is one column.

import Spec
import Support

struct Lexer {
  /// The source as UTF-8 bytes, BOM removed and CRLF turned into LF.
  let bytes: [UInt8]
  var offset = 0
  var line = 1
  var column = 1

  init(source: String) {
    bytes = Lexer.normalize(source)
  }

  /// Drops a leading byte-order mark and turns CRLF into LF.
  static func normalize(_ source: String) -> [UInt8] {
    var input = Array(source.utf8)
    if input.starts(with: [0xEF, 0xBB, 0xBF]) { input.removeFirst(3) }
    guard input.contains(UInt8(ascii: "\r")) else { return input }
    var output: [UInt8] = []
    output.reserveCapacity(input.count)
    for (index, byte) in input.enumerated() {
      if byte == UInt8(ascii: "\r"), index + 1 < input.count, input[index + 1] == UInt8(ascii: "\n") {
        continue
      }
      output.append(byte)
    }
    return output
  }

  static func tokenize(_ source: String) throws -> [Token] {
    var lexer = Lexer(source: source)
    return try lexer.tokenize()
  }

  mutating func tokenize() throws -> [Token] {
    var tokens: [Token] = []
    tokens.reserveCapacity(bytes.count / 4)
    while true {
      let token = try nextToken()
      tokens.append(token)
      if token.kind == .endOfFile { return tokens }
    }
  }

  // MARK: Cursor

  var location: SourceLocation { SourceLocation(line: line, column: column) }

  func peek(_ ahead: Int = 0) -> UInt8? {
    let index = offset + ahead
    return index < bytes.count ? bytes[index] : nil
  }

  mutating func advance() {
    let byte = bytes[offset]
    offset += 1
    if byte == UInt8(ascii: "\n") {
      line += 1
      column = 1
    } else if byte & 0xC0 != 0x80 {
      column += 1
    }
  }

  func text(from start: Int) -> String {
    String(decoding: bytes[start..<offset], as: UTF8.self)
  }

  // MARK: Tokens

  mutating func nextToken() throws -> Token {
    skipSpaceAndComments()
    let start = location
    guard let byte = peek() else {
      return Token(kind: .endOfFile, location: start, length: 1, text: "")
    }
    func punctuation(_ kind: TokenKind, _ count: Int = 1) -> Token {
      for _ in 0..<count { advance() }
      return Token(kind: kind, location: start, length: count, text: "")
    }
    switch byte {
    case UInt8(ascii: "\n"): return punctuation(.newline)
    case UInt8(ascii: ";"): return punctuation(.semicolon)
    case UInt8(ascii: ","): return punctuation(.comma)
    case UInt8(ascii: ":"): return punctuation(.colon)
    case UInt8(ascii: "{"): return punctuation(.leftBrace)
    case UInt8(ascii: "}"): return punctuation(.rightBrace)
    case UInt8(ascii: "["): return punctuation(.leftBracket)
    case UInt8(ascii: "]"): return punctuation(.rightBracket)
    case UInt8(ascii: "-"):
      if peek(1) == UInt8(ascii: ">") { return punctuation(.arrow, 2) }
      if let next = peek(1), isDigit(next) { return try lexNumber() }
      throw unexpectedCharacter()
    case UInt8(ascii: "\""):
      return try lexString()
    case _ where isDigit(byte):
      return try lexNumber()
    case _ where isNameStart(byte):
      return lexName()
    default:
      throw unexpectedCharacter()
    }
  }

  mutating func skipSpaceAndComments() {
    while let byte = peek() {
      if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
        advance()
      } else if byte == UInt8(ascii: "#") {
        while let next = peek(), next != UInt8(ascii: "\n") { advance() }
      } else {
        return
      }
    }
  }

  mutating func lexName() -> Token {
    let start = location
    let startOffset = offset
    while let byte = peek() {
      if isNameStart(byte) || isDigit(byte) {
        advance()
      } else if byte == UInt8(ascii: "-"), peek(1) != UInt8(ascii: ">") {
        advance()
      } else {
        break
      }
    }
    let name = text(from: startOffset)
    let kind: TokenKind
    switch name {
    case "true": kind = .bool(true)
    case "false": kind = .bool(false)
    default: kind = .name(name)
    }
    return Token(kind: kind, location: start, length: column - start.column, text: name)
  }

  func unexpectedCharacter() -> SyntaxError {
    var scalars = String(decoding: bytes[offset...].prefix(4), as: UTF8.self).unicodeScalars.makeIterator()
    let character = scalars.next().map { String($0) } ?? "?"
    let message: String
    switch character {
    case "=":
      message = "unexpected '='; settings take their value without '=', e.g. `cpus 2`"
    case "'":
      message = "unexpected \"'\"; strings are written in double quotes, e.g. \"text\""
    case "-":
      message = "unexpected '-'; did you mean '->'?"
    case "\u{0}"..."\u{1F}":
      message =
        "unexpected control character U+\(String(Int(character.unicodeScalars.first?.value ?? 0), radix: 16, uppercase: true))"
    default:
      message = "unexpected character '\(character)'; text must be quoted, e.g. \"\(character)\""
    }
    return SyntaxError(message: message, location: location, length: 1)
  }
}

func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

func isLetter(_ byte: UInt8) -> Bool {
  (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
}

func isNameStart(_ byte: UInt8) -> Bool { isLetter(byte) || byte == UInt8(ascii: "_") }

func isHexDigit(_ byte: UInt8) -> Bool {
  isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
}
