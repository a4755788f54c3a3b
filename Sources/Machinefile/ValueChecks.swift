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

  /// An IPv4 address, or an IPv6 address in RFC 4291's notation (Spec's parsers).
  static func ipAddress(_ text: String) -> Bool { IPAddress(text) != nil }

  /// A dotted IPv4 netmask with contiguous ones, such as 255.255.255.0.
  static func netmask(_ text: String) -> Bool { IPv4Subnet.prefix(ofNetmask: text) != nil }

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
