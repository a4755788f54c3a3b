import Spec
import Support
import Testing

@testable import Machinefile

private func kinds(_ source: String) throws -> [TokenKind] {
  try Lexer.tokenize(source).map(\.kind)
}

private func lexError(_ source: String) -> SyntaxError? {
  do {
    _ = try Lexer.tokenize(source)
    return nil
  } catch let error as SyntaxError {
    return error
  } catch {
    return nil
  }
}

private func text(_ parts: [StringPart]) -> TokenKind { .string(StringLiteral(parts: parts), multiline: false) }

@Suite struct LexerTests {
  @Test func punctuationAndNames() throws {
    #expect(
      try kinds("machine web_1-a { } [ ] , : ; -> true false\n")
        == [
          .name("machine"), .name("web_1-a"), .leftBrace, .rightBrace, .leftBracket, .rightBracket, .comma, .colon,
          .semicolon, .arrow, .bool(true), .bool(false), .newline, .endOfFile,
        ])
  }

  @Test func nameStopsBeforeArrow() throws {
    #expect(try kinds("a->b") == [.name("a"), .arrow, .name("b"), .endOfFile])
  }

  @Test func integers() throws {
    #expect(
      try kinds("42 0x2a 0X2A 1_000 -5") == [
        .integer(42), .integer(42), .integer(42), .integer(1000), .integer(-5), .endOfFile,
      ])
  }

  @Test func sizes() throws {
    #expect(
      try kinds("1K 2M 3G 1T 1KiB 2MiB 3GiB 1TiB 1KB 2MB 3GB 1TB")
        == [
          .size(bytes: 1024), .size(bytes: 2 << 20), .size(bytes: 3 << 30), .size(bytes: 1 << 40),
          .size(bytes: 1024), .size(bytes: 2 << 20), .size(bytes: 3 << 30), .size(bytes: 1 << 40),
          .size(bytes: 1_000), .size(bytes: 2_000_000), .size(bytes: 3_000_000_000), .size(bytes: 1_000_000_000_000),
          .endOfFile,
        ])
  }

  @Test func durations() throws {
    #expect(
      try kinds("500ms 30s 5m 1h")
        == [
          .duration(milliseconds: 500), .duration(milliseconds: 30_000), .duration(milliseconds: 300_000),
          .duration(milliseconds: 3_600_000), .endOfFile,
        ])
  }

  @Test func digitLedWordIsAName() throws {
    #expect(try kinds("9p 2Gib") == [.name("9p"), .name("2Gib"), .endOfFile])
  }

  @Test func numberErrors() {
    #expect(lexError("99999999999999999999")?.message == "integer '99999999999999999999' is too large")
    #expect(lexError("x 0x")?.location == SourceLocation(line: 1, column: 3))
    #expect(lexError("16777216TiB")?.message == "size '16777216TiB' is too large")
    #expect(lexError("1.5GiB")?.message.contains("1536MiB") == true)
    #expect(lexError("ip: 10.0.0.1")?.message.contains("quote it: \"10.0.0.1\"") == true)
  }

  @Test func stringEscapes() throws {
    let tokens = try Lexer.tokenize(#""a\"b\\c\nd\te\$f\u{1F600}g""#)
    #expect(tokens[0].kind == text([.text("a\"b\\c\nd\te$f😀g")]))
  }

  @Test func stringErrors() {
    #expect(lexError("x \"abc\ny\"")?.location == SourceLocation(line: 1, column: 3))
    #expect(lexError("x \"abc")?.message.hasPrefix("unterminated string") == true)
    #expect(lexError(#""\q""#)?.message.hasPrefix("invalid escape '\\q'") == true)
    #expect(lexError(#""\u{110000}""#)?.message.hasPrefix("invalid unicode escape") == true)
    #expect(lexError(#""\u41""#)?.message.hasPrefix("unicode escape needs braces") == true)
  }

  @Test func unicodeInStringsAndComments() throws {
    let tokens = try Lexer.tokenize("# commentaire: déjà vu ✓\nname \"héllo wörld 日本\" x")
    #expect(tokens[1].kind == .name("name"))
    #expect(tokens[2].kind == text([.text("héllo wörld 日本")]))
    #expect(tokens[2].length == 16)
    // Columns count characters: the 16-character string ends at column 21, so x is at 23.
    #expect(tokens[3].location == SourceLocation(line: 2, column: 23))
  }

  @Test func positionsWithTabsAndLines() throws {
    let tokens = try Lexer.tokenize("a\n\tb  c\n  d")
    #expect(
      tokens.map(\.location) == [
        SourceLocation(line: 1, column: 1), SourceLocation(line: 1, column: 2),
        SourceLocation(line: 2, column: 2), SourceLocation(line: 2, column: 5), SourceLocation(line: 2, column: 6),
        SourceLocation(line: 3, column: 3), SourceLocation(line: 3, column: 4),
      ])
  }

  @Test func crlfAndBOM() throws {
    let tokens = try Lexer.tokenize("\u{FEFF}cpus 2\r\nmemory 1GiB\r\n")
    #expect(
      tokens.map(\.kind) == [
        .name("cpus"), .integer(2), .newline, .name("memory"), .size(bytes: 1 << 30), .newline, .endOfFile,
      ])
    #expect(tokens[0].location == SourceLocation(line: 1, column: 1))
    #expect(tokens[3].location == SourceLocation(line: 2, column: 1))
  }

  @Test func noFinalNewline() throws {
    #expect(try kinds("cpus 2") == [.name("cpus"), .integer(2), .endOfFile])
  }

  @Test func commentsAreSkipped() throws {
    #expect(
      try kinds("cpus 2 # a comment \"not a string\"\n# whole line\n") == [
        .name("cpus"), .integer(2), .newline, .newline, .endOfFile,
      ])
  }

  @Test func multilineStripsClosingIndentation() throws {
    let source = "x \"\"\"\n    one\n      two \"q\"\n\n    three\n    \"\"\"\n"
    let tokens = try Lexer.tokenize(source)
    #expect(tokens[1].kind == .string(StringLiteral(parts: [.text("one\n  two \"q\"\n\nthree")]), multiline: true))
    #expect(tokens[2].kind == .newline)
    #expect(tokens[2].location.line == 6)
  }

  @Test func multilineWithCRLFAndTabs() throws {
    let tokens = try Lexer.tokenize("x \"\"\"\r\n\tone\r\n\t\ttwo\r\n\t\"\"\"")
    #expect(tokens[1].kind == .string(StringLiteral(parts: [.text("one\n\ttwo")]), multiline: true))
  }

  @Test func multilineErrors() {
    #expect(lexError("x \"\"\"\n  a\n")?.message.hasPrefix("unterminated multi-line string") == true)
    #expect(lexError("x \"\"\" a\n\"\"\"")?.message.hasPrefix("a multi-line string starts on the line after") == true)
    let shallow = lexError("x \"\"\"\n  a\n b\n  \"\"\"")
    #expect(shallow?.location == SourceLocation(line: 3, column: 1))
    #expect(shallow?.message.hasPrefix("insufficient indentation") == true)
  }

  @Test func interpolationParts() throws {
    let tokens = try Lexer.tokenize(#""a ${HOME} ${X:-dflt} ${index}-${name} $$ $x""#)
    guard case .string(let literal, _) = tokens[0].kind else {
      Issue.record("not a string")
      return
    }
    #expect(
      literal.parts == [
        .text("a "),
        .environment(name: "HOME", fallback: nil, location: SourceLocation(line: 1, column: 4), length: 7),
        .text(" "),
        .environment(name: "X", fallback: "dflt", location: SourceLocation(line: 1, column: 12), length: 10),
        .text(" "), .machineIndex(location: SourceLocation(line: 1, column: 23), length: 8), .text("-"),
        .machineName(location: SourceLocation(line: 1, column: 32), length: 7), .text(" $ $x"),
      ])
    #expect(literal.usesMachineVariables)
    #expect(literal.plainText == nil)
  }

  @Test func escapedDollarIsNotInterpolation() throws {
    #expect(try Lexer.tokenize(#""\${HOME}""#)[0].kind == text([.text("${HOME}")]))
  }

  @Test func unexpectedCharacters() {
    #expect(lexError("memory = 2")?.message.hasPrefix("unexpected '='") == true)
    #expect(lexError("a 'b'")?.message.contains("double quotes") == true)
    #expect(lexError("a @")?.location == SourceLocation(line: 1, column: 3))
  }
}
