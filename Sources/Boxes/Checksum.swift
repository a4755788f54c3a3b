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
  public var hex: String

  public init(kind: Kind, hex: String) throws {
    let lower = hex.lowercased()
    guard lower.count == kind.hexLength, lower.allSatisfy({ $0.isHexDigit }) else {
      throw BoxError("'\(hex)' is not a \(kind.rawValue) checksum: it needs \(kind.hexLength) hex digits",
        hint: "Copy the checksum again; `\(kind.rawValue)sum FILE` prints it.")
    }
    self.kind = kind
    self.hex = lower
  }

  /// `TYPE:HEX`, as `--checksum` takes it.
  public init(parsing text: String) throws {
    guard let colon = text.firstIndex(of: ":") else {
      throw BoxError("checksum '\(text)' has no type", hint: Checksum.form)
    }
    try self.init(type: String(text[..<colon]), value: String(text[text.index(after: colon)...]))
  }

  /// A catalog's `checksum_type` and `checksum`.
  public init(type: String, value: String) throws {
    guard let kind = Kind(rawValue: type.lowercased()) else {
      throw BoxError("checksum type '\(type)' is not known", hint: Checksum.form)
    }
    try self.init(kind: kind, hex: value.trimmingCharacters(in: .whitespaces))
  }

  static let form = "Write TYPE:HEX with TYPE one of md5, sha1, sha256, sha384, sha512, e.g. sha256:ba7816bf…"

  public var description: String { "\(kind.rawValue):\(hex)" }

  public func verify(_ actualHex: String, what: String) throws {
    guard actualHex.lowercased() == hex else {
      throw BoxError("checksum mismatch for \(what): expected \(kind.rawValue):\(hex), got \(kind.rawValue):\(actualHex.lowercased())",
        hint: "The download is damaged or the catalog's checksum is wrong; nothing was installed.")
    }
  }
}

/// A digest fed as bytes stream past.
public struct StreamingDigest {
  private enum State {
    case md5(Insecure.MD5)
    case sha1(Insecure.SHA1)
    case sha256(SHA256)
    case sha384(SHA384)
    case sha512(SHA512)
  }

  private var state: State

  public init(_ kind: Checksum.Kind) {
    switch kind {
    case .md5: state = .md5(Insecure.MD5())
    case .sha1: state = .sha1(Insecure.SHA1())
    case .sha256: state = .sha256(SHA256())
    case .sha384: state = .sha384(SHA384())
    case .sha512: state = .sha512(SHA512())
    }
  }

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    switch state {
    case .md5(var h): h.update(bufferPointer: bytes); state = .md5(h)
    case .sha1(var h): h.update(bufferPointer: bytes); state = .sha1(h)
    case .sha256(var h): h.update(bufferPointer: bytes); state = .sha256(h)
    case .sha384(var h): h.update(bufferPointer: bytes); state = .sha384(h)
    case .sha512(var h): h.update(bufferPointer: bytes); state = .sha512(h)
    }
  }

  public mutating func update(_ data: Data) {
    data.withUnsafeBytes { update($0) }
  }

  public mutating func finalizeHex() -> String {
    func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
      digest.map { String(format: "%02x", $0) }.joined()
    }
    switch state {
    case .md5(let h): return hex(h.finalize())
    case .sha1(let h): return hex(h.finalize())
    case .sha256(let h): return hex(h.finalize())
    case .sha384(let h): return hex(h.finalize())
    case .sha512(let h): return hex(h.finalize())
    }
  }
}
