internal import Crypto
import Foundation
import Spec
import Support

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

  /// The digest of a whole file, read a chunk at a time.
  public static func hex(ofFile path: String, _ kind: Checksum.Kind) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw FileSystem.ioError("read", path) }
    defer { try? handle.close() }
    var digest = StreamingDigest(kind)
    while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { digest.update(chunk) }
    return digest.finalizeHex()
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
