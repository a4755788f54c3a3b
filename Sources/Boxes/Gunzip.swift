internal import CZlib
import Foundation
import Spec
import Support

/// Inflates a gzip (or zlib) stream pushed to it in chunks; concatenated gzip
/// members are read one after another, as gunzip does.
public final class Gunzip {
  private var stream = z_stream()
  private var output = [UInt8](repeating: 0, count: 1 << 20)
  private let source: String
  private var ended = false

  public init(source: String) throws {
    self.source = source
    guard caravan_inflate_init_gzip(&stream) == Z_OK else {
      throw CaravanError(.invalidInput, "cannot start decompressing '\(source)': zlib failed to initialise")
    }
  }

  deinit { inflateEnd(&stream) }

  /// Inflates `input` and hands each decompressed chunk to `sink`.
  public func feed(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    guard let base = input.baseAddress, input.count > 0 else { return }
    stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = uInt(input.count)
    while stream.avail_in > 0 {
      if ended {
        // Another gzip member follows the one that ended.
        guard inflateReset(&stream) == Z_OK else { throw damaged("cannot read the next gzip member") }
        ended = false
      }
      let status: Int32 = output.withUnsafeMutableBufferPointer { out in
        stream.next_out = out.baseAddress
        stream.avail_out = uInt(out.count)
        return inflate(&stream, Z_NO_FLUSH)
      }
      let produced = output.count - Int(stream.avail_out)
      if produced > 0 {
        try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
      }
      switch status {
      case Z_OK, Z_BUF_ERROR: continue
      case Z_STREAM_END: ended = true
      default:
        let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
        throw damaged(detail)
      }
    }
  }

  /// Checks that the compressed stream ended cleanly.
  public func finish() throws {
    guard ended else { throw damaged("the gzip stream is cut short") }
  }

  private func damaged(_ detail: String) -> CaravanError {
    CaravanError(.invalidInput, "'\(source)' is not a valid gzip file: \(detail)", hint: "The box file is damaged or truncated; download it again.")
  }
}

/// What a box archive's bytes go through: hashed (when a checksum is
/// expected), decompressed when the first bytes say gzip, then extracted.
public struct BoxArchiveSink {
  private let extractor: TarExtractor
  private var gunzip: Gunzip?
  private var decided = false
  private let source: String
  private let checksum: Checksum?
  private var digest: StreamingDigest?

  public init(into target: String, source: String, checksum: Checksum?) {
    extractor = TarExtractor(into: target, archive: source)
    self.source = source
    self.checksum = checksum
    digest = checksum.map { StreamingDigest($0.kind) }
  }

  public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
    digest?.update(bytes)
    if !decided && bytes.count > 0 {
      decided = true
      if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { gunzip = try Gunzip(source: source) }
    }
    if let gunzip {
      try gunzip.feed(bytes) { try extractor.feed($0) }
    } else {
      try extractor.feed(bytes)
    }
  }

  /// Checks that the archive ended cleanly and, last, the checksum.
  public mutating func finish() throws {
    try gunzip?.finish()
    try extractor.finish()
    if let checksum, var digest { try checksum.verify(digest.finalizeHex(), what: source) }
  }

  public mutating func abandon() { extractor.abandon() }

  /// Feeds everything `produce` hands over, then finishes; abandons on any error.
  public mutating func consume(_ produce: (_ feed: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    do {
      try produce { try self.feed($0) }
      try finish()
    } catch {
      abandon()
      throw error
    }
  }
}
