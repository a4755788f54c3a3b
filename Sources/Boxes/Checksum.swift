import Crypto
import Foundation

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
      throw BoxError("'\(hex)' is not a \(kind.rawValue) checksum: '\(bad)' is not a hex digit",
        hint: "Copy the checksum again; `\(kind.rawValue)sum FILE` prints it.")
    }
    guard hex.utf8.count == kind.hexLength else {
      let other = Kind.allCases.first { $0.hexLength == hex.utf8.count }
      throw BoxError("'\(hex)' is not a \(kind.rawValue) checksum: it needs \(kind.hexLength) hex digits",
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
      throw BoxError("checksum '\(text)' has no type", hint: Checksum.form)
    }
    try self.init(type: String(text[..<colon]), value: String(text[text.index(after: colon)...]))
  }

  /// A catalog's `checksum_type` and `checksum`; the type in any case.
  public init(type: String, value: String) throws {
    let type = type.trimmingCharacters(in: .whitespaces)
    guard let kind = Kind(rawValue: type.lowercased()) else {
      throw BoxError("checksum type '\(type)' is not known", hint: Checksum.form)
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
      throw BoxError("checksum mismatch for \(what): expected \(kind.rawValue):\(hex), got \(kind.rawValue):\(actual)",
        hint: "The download is damaged or the catalog's checksum is wrong; nothing was installed.")
    }
  }
}

/// A digest fed as bytes stream past (swift-crypto's MD5, SHA-1 and SHA-2).
///
/// `update` hashes the caller's buffer in place: no copy of the bytes, and none
/// of the hash state either (the hasher is mutated inside its existential, so
/// swift-crypto's copy-on-write context stays uniquely referenced).
public struct StreamingDigest {
  private var hasher: any HashFunction
  public let kind: Checksum.Kind

  public init(_ kind: Checksum.Kind) {
    self.kind = kind
    switch kind {
    case .md5: hasher = Insecure.MD5()
    case .sha1: hasher = Insecure.SHA1()
    case .sha256: hasher = SHA256()
    case .sha384: hasher = SHA384()
    case .sha512: hasher = SHA512()
    }
  }

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    hasher.update(bufferPointer: bytes)
  }

  public mutating func update(_ data: Data) {
    data.withUnsafeBytes { update($0) }
  }

  /// The digest in lowercase hex. Feed nothing more afterwards. (`mutating`
  /// rather than `consuming` so that callers holding it in a `var` need no change.)
  public mutating func finalizeHex() -> String {
    hasher.finalize().withUnsafeBytes { StreamingDigest.hex($0) }
  }

  static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }
}
