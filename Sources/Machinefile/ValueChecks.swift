// Checks of the text of values: host names, addresses, URIs and names (box version
// constraints and checksums are checked by their own parsers in Spec). Each returns nil
// when the text is fine, else the reason.

import Spec
import Support

enum ValueChecks {
  /// RFC 1123 host name: dot-separated labels of letters, digits and '-', each 1 to 63
  /// characters, not starting or ending with '-', 253 characters at most.
  static func hostname(_ text: String) -> String? {
    let bytes = Array(text.utf8)
    if bytes.isEmpty { return "it is empty" }
    if bytes.count > 253 { return "it is longer than 253 characters" }
    for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
      let shown = String(decoding: label, as: UTF8.self)
      if label.isEmpty { return "it has an empty label (two dots in a row, or a dot at the start or end)" }
      if label.count > 63 { return "label '\(shown)' is longer than 63 characters" }
      if label.contains(where: { !(isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-")) }) {
        let bad = shown.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-")) }) ?? "?"
        return "'\(bad)' is not allowed; use letters, digits and '-'"
      }
      if label.first == UInt8(ascii: "-") || label.last == UInt8(ascii: "-") {
        return "label '\(shown)' starts or ends with '-'"
      }
    }
    return nil
  }

  /// What is wrong with a value that one of the spec's parsers (version
  /// constraints, checksums) refuses: its message and its fix, for a diagnostic.
  static func problem(_ parse: () throws -> Void) -> String? {
    do {
      try parse()
      return nil
    } catch let error as CaravanError {
      guard let hint = error.hint, let first = hint.first else { return error.message }
      return error.message + "; " + first.lowercased() + hint.dropFirst()
    } catch {
      return "\(error)"
    }
  }

  static func ipv4(_ text: String) -> Bool {
    var parts = 0
    var value = 0
    var digits = 0
    for byte in text.utf8 {
      if byte == UInt8(ascii: ".") {
        guard digits > 0 else { return false }
        parts += 1
        value = 0
        digits = 0
      } else if isDigit(byte) {
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
        digits += 1
        guard digits <= 3, value <= 255 else { return false }
      } else {
        return false
      }
    }
    return parts == 3 && digits > 0
  }

  /// An IPv4 address, or an IPv6 address in its usual notation.
  static func ipAddress(_ text: String) -> Bool {
    if ipv4(text) { return true }
    guard text.contains(":"), text.count <= 45 else { return false }
    return text.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }
  }

  /// A dotted IPv4 netmask with contiguous ones, such as 255.255.255.0.
  static func netmask(_ text: String) -> Bool {
    guard ipv4(text) else { return false }
    let value = text.split(separator: ".").reduce(UInt32(0)) { $0 << 8 | (UInt32($1) ?? 0) }
    let inverted = ~value
    return inverted & (inverted &+ 1) == 0
  }

  /// A libvirt connection URI such as `qemu:///system` or `qemu+ssh://host/system`.
  static func libvirtURI(_ text: String) -> Bool {
    guard let range = text.firstRange(of: "://") else { return false }
    let scheme = text[..<range.lowerBound]
    guard let first = scheme.unicodeScalars.first, first.isASCII, isLetter(UInt8(first.value)) else {
      return false
    }
    return scheme.unicodeScalars.allSatisfy {
      $0.isASCII && (isLetter(UInt8($0.value)) || isDigit(UInt8($0.value)) || "+-.".unicodeScalars.contains($0))
    }
  }

  /// Names of machines and volumes: letters, digits, '-', '_' and '.', starting with a
  /// letter or digit (they become file and libvirt object names).
  static func objectName(_ text: String) -> String? {
    guard let first = text.unicodeScalars.first else { return "it is empty" }
    guard first.isASCII, isLetter(UInt8(first.value)) || isDigit(UInt8(first.value)) else {
      return "it must start with a letter or digit"
    }
    if let bad = text.unicodeScalars.first(where: {
      !($0.isASCII && (isLetter(UInt8($0.value)) || isDigit(UInt8($0.value)) || "-_.".unicodeScalars.contains($0)))
    }) {
      return "'\(bad)' is not allowed; use letters, digits, '-', '_' and '.'"
    }
    return nil
  }
}

extension StringProtocol {
  var trimmingSpaces: String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
  }
}

extension String {
  /// Turns `; did you mean 'x'?` into `, did you mean 'x'?` for use inside a clause.
  fileprivate func replacingSemicolon() -> String {
    hasPrefix(";") ? "," + dropFirst() : self
  }
}

extension ValueChecks {
  /// A dotted IPv4 address as a number (nil when it is not one).
  static func ipv4Value(_ text: String) -> UInt32? {
    guard ipv4(text) else { return nil }
    return text.split(separator: ".").reduce(UInt32(0)) { $0 << 8 | (UInt32($1) ?? 0) }
  }

  static func ipv4Text(_ value: UInt32) -> String {
    [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xFF) }.joined(separator: ".")
  }

  /// The address `offset` after `text` (nil when `text` is not an IPv4 address or it overflows).
  static func ipv4(_ text: String, plus offset: Int) -> String? {
    guard let value = ipv4Value(text), offset >= 0, offset <= Int(UInt32.max) else { return nil }
    let (sum, overflow) = value.addingReportingOverflow(UInt32(offset))
    return overflow ? nil : ipv4Text(sum)
  }
}
