// Integers (`42`, `0x2a`, `1_000`), sizes (`2GiB`, `500MB`) and durations (`500ms`, `5m`).

import Foundation
import Spec
import Support

extension Lexer {
  static let sizeUnits: [String: UInt64] = [
    "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
    "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
    "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
  ]
  static let durationUnits: [String: Int] = ["ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000]

  mutating func lexNumber() throws -> Token {
    let start = location
    let startOffset = offset
    let negative = peek() == UInt8(ascii: "-")
    if negative { advance() }

    var value = 0
    var overflow = false
    var digits = 0
    func accumulate(_ digit: Int, radix: Int) {
      let (product, o1) = value.multipliedReportingOverflow(by: radix)
      let (sum, o2) = product.addingReportingOverflow(digit)
      overflow = overflow || o1 || o2
      value = sum
      digits += 1
    }

    let hex = peek() == UInt8(ascii: "0") && (peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X"))
    if hex {
      advance()
      advance()
      while let byte = peek(), isHexDigit(byte) || byte == UInt8(ascii: "_") {
        if byte != UInt8(ascii: "_") { accumulate(Int(hexValue(byte)), radix: 16) }
        advance()
      }
      if digits == 0 {
        throw SyntaxError(
          message: "hexadecimal integer '\(text(from: startOffset))' has no digits; write e.g. 0x2a",
          location: start, length: column - start.column)
      }
    } else {
      while let byte = peek(), isDigit(byte) || byte == UInt8(ascii: "_") {
        if byte != UInt8(ascii: "_") { accumulate(Int(byte - UInt8(ascii: "0")), radix: 10) }
        advance()
      }
    }

    if peek() == UInt8(ascii: "."), let next = peek(1), isDigit(next) {
      while let byte = peek(), isDigit(byte) || byte == UInt8(ascii: ".") || isLetter(byte) { advance() }
      let literal = text(from: startOffset)
      let unit = String(literal.reversed().prefix(while: \.isLetter).reversed())
      let message =
        Lexer.sizeUnits[unit] != nil || Lexer.durationUnits[unit] != nil
        ? "'\(literal)' cannot have a fraction; write it in a smaller unit, e.g. 1536MiB instead of 1.5GiB or 90s instead of 1.5m"
        : "'\(literal)' is not a number: numbers cannot have a fraction; if it is an address or a version, quote it: \"\(literal)\""
      throw SyntaxError(message: message, location: start, length: column - start.column)
    }

    let unitOffset = offset
    while let byte = peek(), isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_") { advance() }
    let unit = String(decoding: bytes[unitOffset..<offset], as: UTF8.self)
    let literal = text(from: startOffset)
    let length = column - start.column

    if overflow {
      throw SyntaxError(message: "integer '\(literal)' is too large", location: start, length: length)
    }
    if negative { value = -value }
    return try token(
      value: value, negative: negative, unit: unit, hex: hex, literal: literal, start: start,
      startOffset: startOffset, length: length)
  }

  /// The token for a number with its unit read: an integer, a size, a duration,
  /// or (no known unit) a bare word that starts with a digit.
  private mutating func token(
    value: Int, negative: Bool, unit: String, hex: Bool, literal: String, start: SourceLocation, startOffset: Int,
    length: Int
  ) throws -> Token {
    if unit.isEmpty {
      return Token(kind: .integer(value), location: start, length: length, text: literal)
    }
    if hex {
      throw SyntaxError(
        message: "hexadecimal integer '\(literal)' cannot have a unit", location: start, length: length)
    }
    if let multiplier = Lexer.sizeUnits[unit] {
      if negative {
        throw SyntaxError(message: "size '\(literal)' cannot be negative", location: start, length: length)
      }
      let (bytes, productOverflow) = UInt64(value).multipliedReportingOverflow(by: multiplier)
      if productOverflow {
        throw SyntaxError(message: "size '\(literal)' is too large", location: start, length: length)
      }
      return Token(kind: .size(bytes: bytes), location: start, length: length, text: literal)
    }
    if let multiplier = Lexer.durationUnits[unit] {
      if negative {
        throw SyntaxError(message: "duration '\(literal)' cannot be negative", location: start, length: length)
      }
      let (milliseconds, productOverflow) = value.multipliedReportingOverflow(by: multiplier)
      if productOverflow {
        throw SyntaxError(message: "duration '\(literal)' is too large", location: start, length: length)
      }
      return Token(kind: .duration(milliseconds: milliseconds), location: start, length: length, text: literal)
    }
    // A word that starts with a digit but has no known unit, such as `9p` (a sync type) or a
    // mistyped size like `2Gib`: a bare word; the validator says what it expected there.
    if negative {
      throw SyntaxError(
        message:
          "'\(literal)' is not a number, size or duration; sizes use K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB, TB and durations ms, s, m, h",
        location: start, length: length)
    }
    while let byte = peek(),
      isNameStart(byte) || isDigit(byte) || (byte == UInt8(ascii: "-") && peek(1) != UInt8(ascii: ">"))
    {
      advance()
    }
    let word = text(from: startOffset)
    return Token(kind: .name(word), location: start, length: column - start.column, text: word)
  }
}

func hexValue(_ byte: UInt8) -> UInt8 {
  if isDigit(byte) { return byte - UInt8(ascii: "0") }
  if byte >= UInt8(ascii: "a") { return byte - UInt8(ascii: "a") + 10 }
  return byte - UInt8(ascii: "A") + 10
}

/// A memory size as a command-line option gives it, read as `memory` reads it in
/// a Machinefile: `2GiB`, `768M`, or a bare number of MiB. nil when it is not one.
public func parseMemorySize(_ text: String) -> UInt64? {
  let trimmed = text.trimmingCharacters(in: .whitespaces)
  let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
  guard let number = UInt64(digits), number > 0 else { return nil }
  let unit = String(trimmed.dropFirst(digits.count))
  if unit.isEmpty { return number <= UInt64.max >> 20 ? number << 20 : nil }
  guard let scale = Lexer.sizeUnits[unit] else { return nil }
  let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
  return overflow ? nil : bytes
}
