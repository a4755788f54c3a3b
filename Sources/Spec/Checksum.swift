import Foundation
import Support

/// An expected checksum of a box file: `sha256:abcd…`.
public struct Checksum: Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable, CaseIterable {
    case md5, sha1, sha256, sha384, sha512
    /// Hex digits in a digest of this kind.
    public var hexLength: Int {
      switch self {
      case .md5: return 32
      case .sha1: return 40
      case .sha256: return 64
      case .sha384: return 96
      case .sha512: return 128
      }
    }
  }

  public var kind: Kind
  /// Lowercase hex digits.
  public var hex: String

  public init(kind: Kind, hex: String) throws {
    // ASCII only: Character.isHexDigit also takes fullwidth digits.
    if let bad = hex.first(where: { !($0.isASCII && $0.isHexDigit) }) {
      throw CaravanError(
        .invalidInput, "'\(hex)' is not a \(kind.rawValue) checksum: '\(bad)' is not a hex digit",
        hint: "Copy the checksum again; `\(kind.rawValue)sum FILE` prints it.")
    }
    guard hex.utf8.count == kind.hexLength else {
      let other = Kind.allCases.first { $0.hexLength == hex.utf8.count }
      throw CaravanError(
        .invalidInput, "'\(hex)' is not a \(kind.rawValue) checksum: it needs \(kind.hexLength) hex digits",
        hint: other.map { "It has \(hex.utf8.count), as a \($0.rawValue) checksum does: is the type right?" }
          ?? "It has \(hex.utf8.count); copy the checksum again (`\(kind.rawValue)sum FILE` prints it).")
    }
    self.kind = kind
    self.hex = hex.lowercased()
  }

  /// `TYPE:HEX`, as `--checksum` takes it.
  public init(parsing text: String) throws {
    let text = text.trimmingCharacters(in: .whitespaces)
    guard let colon = text.firstIndex(of: ":") else {
      throw CaravanError(.invalidInput, "checksum '\(text)' has no type", hint: Checksum.form)
    }
    try self.init(type: String(text[..<colon]), value: String(text[text.index(after: colon)...]))
  }

  /// A catalog's `checksum_type` and `checksum`; the type in any case.
  public init(type: String, value: String) throws {
    let type = type.trimmingCharacters(in: .whitespaces)
    guard let kind = Kind(rawValue: type.lowercased()) else {
      let names = Kind.allCases.map(\.rawValue)
      let guess = Suggestions.closest(to: type, in: names).map { "Did you mean '\($0)'? " } ?? ""
      throw CaravanError(.invalidInput, "checksum type '\(type)' is not known", hint: guess + Checksum.form)
    }
    try self.init(kind: kind, hex: value.trimmingCharacters(in: .whitespaces))
  }

  static let form =
    "Write TYPE:HEX with TYPE one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), e.g. sha256:ba7816bf…"

  public var description: String { "\(kind.rawValue):\(hex)" }

  /// Throws unless `actualHex` (any case) is this checksum.
  public func verify(_ actualHex: String, what: String) throws {
    let actual = actualHex.lowercased()
    guard actual == hex else {
      throw CaravanError(
        .invalidInput,
        "checksum mismatch for \(what): expected \(kind.rawValue):\(hex), got \(kind.rawValue):\(actual)",
        hint: "The download is damaged or the catalog's checksum is wrong; nothing was installed.")
    }
  }
}
