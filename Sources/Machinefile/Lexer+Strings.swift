// String literals: `"..."` with escapes and `${…}` interpolation, and multi-line `"""`
// strings whose closing line's indentation is removed from every line (Swift's rule).

import Spec
import Support

/// Collects the parts of a string literal, merging adjacent text, and its verbatim text
/// (escapes read, `${…}` and `$$` as written) for script bodies.
struct StringPartsBuilder {
  private(set) var parts: [StringPart] = []
  private var pending: [UInt8] = []
  private var verbatim: [UInt8] = []

  mutating func append(_ byte: UInt8) {
    pending.append(byte)
    verbatim.append(byte)
  }

  mutating func append(_ scalar: Unicode.Scalar) {
    pending.append(contentsOf: Array(String(scalar).utf8))
    verbatim.append(contentsOf: Array(String(scalar).utf8))
  }

  /// `$$`: a `$` to interpolated text, both to the verbatim text.
  mutating func appendDollar() {
    pending.append(UInt8(ascii: "$"))
    verbatim.append(contentsOf: [UInt8(ascii: "$"), UInt8(ascii: "$")])
  }

  /// A `${…}` part, written as `source`.
  mutating func append(_ part: StringPart, source: ArraySlice<UInt8>) {
    flush()
    parts.append(part)
    verbatim.append(contentsOf: source)
  }

  private mutating func flush() {
    guard !pending.isEmpty else { return }
    let text = String(decoding: pending, as: UTF8.self)
    pending.removeAll(keepingCapacity: true)
    if case .text(let previous)? = parts.last {
      parts[parts.count - 1] = .text(previous + text)
    } else {
      parts.append(.text(text))
    }
  }

  /// The literal; `verbatim` replaces the collected verbatim text (multi-line strings).
  mutating func finish(verbatim given: String? = nil) -> StringLiteral {
    flush()
    return StringLiteral(parts: parts, verbatim: given ?? String(decoding: verbatim, as: UTF8.self))
  }
}

extension Lexer {
  mutating func lexString() throws -> Token {
    if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
      return try lexMultilineString()
    }
    let start = location
    advance()
    // Fast path: most strings have no escapes and no `$`.
    var end = offset
    while end < bytes.count {
      let byte = bytes[end]
      if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "$")
        || byte == UInt8(ascii: "\n")
      {
        break
      }
      end += 1
    }
    if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
      let text = String(decoding: bytes[offset..<end], as: UTF8.self)
      let content = offset < end ? [StringPart.text(text)] : []
      while offset <= end { advance() }
      return Token(
        kind: .string(StringLiteral(parts: content, verbatim: text), multiline: false), location: start,
        length: column - start.column, text: "")
    }
    var builder = StringPartsBuilder()
    try scanStringContent(into: &builder, multiline: false, end: bytes.count, openedAt: start)
    return Token(
      kind: .string(builder.finish(), multiline: false), location: start, length: column - start.column, text: "")
  }

  /// Reads string content up to the closing quote (single-line, consumed) or up to `end`
  /// (one line of a multi-line string).
  mutating func scanStringContent(
    into builder: inout StringPartsBuilder, multiline: Bool, end: Int, openedAt start: SourceLocation
  ) throws {
    while true {
      guard offset < end, let byte = peek(), multiline || byte != UInt8(ascii: "\n") else {
        if multiline { return }
        throw SyntaxError(
          message: "unterminated string; add the closing '\"' before the end of the line",
          location: start, length: 1)
      }
      switch byte {
      case UInt8(ascii: "\"") where !multiline:
        advance()
        return
      case UInt8(ascii: "\\"):
        try scanEscape(into: &builder, end: end)
      case UInt8(ascii: "$"):
        scanDollar(into: &builder, multiline: multiline, end: end)
      default:
        builder.append(byte)
        advance()
      }
    }
  }

  private mutating func scanEscape(into builder: inout StringPartsBuilder, end: Int) throws {
    let start = location
    advance()
    guard offset < end, let byte = peek(), byte != UInt8(ascii: "\n") else {
      throw SyntaxError(
        message: "a '\\' at the end of a line is not an escape; write \\\\ for a backslash",
        location: start, length: 1)
    }
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"):
      builder.append(byte)
      advance()
    case UInt8(ascii: "n"):
      builder.append(UInt8(ascii: "\n"))
      advance()
    case UInt8(ascii: "t"):
      builder.append(UInt8(ascii: "\t"))
      advance()
    case UInt8(ascii: "u"):
      advance()
      guard peek() == UInt8(ascii: "{") else {
        throw SyntaxError(
          message: "unicode escape needs braces: write \\u{1F600}", location: start, length: 2)
      }
      advance()
      var value: UInt32 = 0
      var digits = 0
      while offset < end, let digit = peek(), isHexDigit(digit) {
        value = value &* 16 &+ UInt32(hexValue(digit))
        digits += 1
        advance()
      }
      guard peek() == UInt8(ascii: "}"), (1...8).contains(digits), let scalar = Unicode.Scalar(value) else {
        throw SyntaxError(
          message: "invalid unicode escape; write 1 to 8 hex digits of a Unicode scalar, e.g. \\u{1F600}",
          location: start, length: max(column - start.column, 2))
      }
      advance()
      builder.append(scalar)
    default:
      let shown =
        String(decoding: bytes[offset...].prefix(4), as: UTF8.self).unicodeScalars.first.map(String.init) ?? "?"
      throw SyntaxError(
        message: "invalid escape '\\\(shown)' in string; valid escapes are \\\" \\\\ \\n \\t \\$ and \\u{…}",
        location: start, length: 2)
    }
  }

  /// `$$` is a literal `$`, `${…}` an interpolation, any other `$` is kept as it is.
  private mutating func scanDollar(into builder: inout StringPartsBuilder, multiline: Bool, end: Int) {
    let start = location
    let startOffset = offset
    if peek(1) == UInt8(ascii: "$") {
      builder.appendDollar()
      advance()
      advance()
      return
    }
    guard peek(1) == UInt8(ascii: "{") else {
      builder.append(UInt8(ascii: "$"))
      advance()
      return
    }
    advance()
    advance()
    let contentStart = offset
    while offset < end, let byte = peek(), byte != UInt8(ascii: "}"), byte != UInt8(ascii: "\n"),
      multiline || byte != UInt8(ascii: "\"")
    {
      advance()
    }
    guard offset < end, peek() == UInt8(ascii: "}") else {
      let shown = String(decoding: bytes[contentStart..<offset], as: UTF8.self)
      builder.append(
        .invalid(
          message: "unterminated interpolation '${\(shown)'; close it with '}'",
          location: start, length: column - start.column), source: bytes[startOffset..<offset])
      return
    }
    let content = String(decoding: bytes[contentStart..<offset], as: UTF8.self)
    advance()
    builder.append(
      Lexer.interpolation(content, location: start, length: column - start.column), source: bytes[startOffset..<offset])
  }

  static func interpolation(_ content: String, location: SourceLocation, length: Int) -> StringPart {
    let name: Substring
    var fallback: String?
    if let colon = content.firstIndex(of: ":") {
      name = content[..<colon]
      let rest = content[content.index(after: colon)...]
      guard rest.hasPrefix("-") else {
        return .invalid(
          message: "invalid interpolation '${\(content)}'; write ${\(name):-default} for a fallback value",
          location: location, length: length)
      }
      fallback = String(rest.dropFirst())
    } else {
      name = Substring(content)
    }
    guard !name.isEmpty else {
      return .invalid(
        message: "empty interpolation '${\(content)}'; write ${NAME} with the name of an environment variable",
        location: location, length: length)
    }
    guard isVariableName(name) else {
      return .invalid(
        message:
          "invalid variable name '\(name)' in '${\(content)}'; names use letters, digits and '_' (write $$ for a literal '$')",
        location: location, length: length)
    }
    switch name {
    case "index", "name":
      if fallback != nil {
        return .invalid(
          message: "'${\(name)}' takes no fallback; write ${\(name)}", location: location, length: length)
      }
      return name == "index"
        ? .machineIndex(location: location, length: length)
        : .machineName(location: location, length: length)
    default:
      return .environment(name: String(name), fallback: fallback, location: location, length: length)
    }
  }

  // MARK: Multi-line strings

  mutating func lexMultilineString() throws -> Token {
    let start = location
    for _ in 0..<3 { advance() }
    while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
      advance()
    }
    guard let byte = peek(), byte == UInt8(ascii: "\n") else {
      if peek() == nil {
        throw SyntaxError(
          message: "unterminated multi-line string; close it with '\"\"\"' on a line of its own",
          location: start, length: 3)
      }
      throw SyntaxError(
        message: "a multi-line string starts on the line after its opening '\"\"\"'; move the text to the next line",
        location: location, length: 1)
    }
    advance()

    // Pass 1: find the content lines and the closing delimiter's line.
    var lines: [Range<Int>] = []
    var lineStart = offset
    var lineNumber = line
    var closing: (lineStart: Int, indentEnd: Int)?
    while lineStart < bytes.count {
      var index = lineStart
      while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
        index += 1
      }
      if isTripleQuote(at: index) {
        closing = (lineStart, index)
        break
      }
      var cursor = lineStart
      while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\n") {
        if bytes[cursor] == UInt8(ascii: "\\"), cursor + 1 < bytes.count, bytes[cursor + 1] != UInt8(ascii: "\n") {
          cursor += 2
          continue
        }
        if isTripleQuote(at: cursor) {
          throw SyntaxError(
            message:
              "the closing '\"\"\"' of a multi-line string must be on a line of its own; write \\\"\"\" for quotes in the text",
            location: SourceLocation(line: lineNumber, column: scalarCount(lineStart..<cursor) + 1), length: 3)
        }
        cursor += 1
      }
      lines.append(lineStart..<cursor)
      lineStart = cursor + 1
      lineNumber += 1
    }
    guard let closing else {
      throw SyntaxError(
        message: "unterminated multi-line string; close it with '\"\"\"' on a line of its own",
        location: start, length: 3)
    }
    let indentation = bytes[closing.lineStart..<closing.indentEnd]

    let literal = try multilineContent(lines, indentation: indentation, closingLine: lineNumber, openedAt: start)
    while offset < closing.indentEnd + 3 { advance() }
    return Token(kind: .string(literal, multiline: true), location: start, length: 3, text: "\"\"\"")
  }

  /// Pass 2 of a multi-line string: strips the indentation and reads each line's escapes and
  /// interpolations. A bad escape is kept as an invalid part: a script body reads no escapes,
  /// so it is an error only where the string is interpolated (the validator reports it there).
  private mutating func multilineContent(
    _ lines: [Range<Int>], indentation: ArraySlice<UInt8>, closingLine lineNumber: Int, openedAt start: SourceLocation
  ) throws -> StringLiteral {
    var builder = StringPartsBuilder()
    var verbatim: [UInt8] = []
    for (number, range) in lines.enumerated() {
      if number > 0 {
        builder.append(UInt8(ascii: "\n"))
        verbatim.append(UInt8(ascii: "\n"))
      }
      if bytes[range].starts(with: indentation) {
        for _ in 0..<indentation.count { advance() }
      } else if bytes[range].allSatisfy({
        $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r")
      }) {
        while offset < range.upperBound { advance() }
      } else {
        throw SyntaxError(
          message:
            "insufficient indentation of line in multi-line string; indent it at least as much as the closing '\"\"\"' on line \(lineNumber)",
          location: location, length: 1)
      }
      verbatim.append(contentsOf: bytes[offset..<range.upperBound])
      do {
        try scanStringContent(into: &builder, multiline: true, end: range.upperBound, openedAt: start)
      } catch let error as SyntaxError {
        builder.append(.invalid(message: error.message, location: error.location, length: error.length), source: [])
        while offset < range.upperBound { advance() }
      }
      advance()
    }
    return builder.finish(verbatim: String(decoding: verbatim, as: UTF8.self))
  }

  private func isTripleQuote(at index: Int) -> Bool {
    index + 2 < bytes.count && bytes[index] == UInt8(ascii: "\"") && bytes[index + 1] == UInt8(ascii: "\"")
      && bytes[index + 2] == UInt8(ascii: "\"")
  }

  private func scalarCount(_ range: Range<Int>) -> Int {
    bytes[range].reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) }
  }
}

func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
  guard let first = name.utf8.first, isNameStart(first) else { return false }
  return name.utf8.allSatisfy { isNameStart($0) || isDigit($0) }
}
