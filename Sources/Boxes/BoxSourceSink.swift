import Foundation
import Spec
import Support

/// Where the bytes of a box source go when what it is shows only in its first
/// bytes: a `.box` archive is unpacked as it streams (`BoxArchiveSink`), a qcow2
/// or raw image is written to the staging folder and hashed on the way.
struct BoxSourceSink {
  enum Outcome {
    case archive
    /// The image file in the staging folder, what it is, and the hex digest of its bytes.
    case image(path: String, content: BoxContent, digest: Checksum)
  }

  private enum State {
    case sniffing(Data)
    case archive(BoxArchiveSink)
    case image(BoxContent, SparseFileWriter)
    case done
  }

  let staging: String
  let source: String
  let checksum: Checksum?
  private var state = State.sniffing(Data())
  private var digest: StreamingDigest
  /// sha256 of every byte, for the box's source record (the lock file's digest).
  private var whole = StreamingDigest(.sha256)
  var imagePath: String { staging + "/image.download" }

  init(into staging: String, source: String, checksum: Checksum?) {
    self.staging = staging
    self.source = source
    self.checksum = checksum
    digest = StreamingDigest(checksum?.kind ?? .sha256)
  }

  mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
    try Interrupt.process.check()
    switch state {
    case .sniffing(var head):
      head.append(contentsOf: bytes)
      if head.count < BoxContent.headerLength {
        state = .sniffing(head)
      } else {
        try decide(head)
      }
    case .archive(var sink):
      whole.update(bytes)
      try sink.feed(bytes)
      state = .archive(sink)
    case .image(_, let writer):
      digest.update(bytes)
      if digest.kind != .sha256 { whole.update(bytes) }
      try writer.write(bytes)
    case .done:
      throw CaravanError(.internalError, "bytes of '\(source)' came after its end")
    }
  }

  /// Chooses the path from the first bytes and passes them on.
  private mutating func decide(_ head: Data) throws {
    let content = try BoxContent.sniff(head, source: source)
    if content == .archive {
      state = .archive(BoxArchiveSink(into: staging, source: source, checksum: checksum))
    } else {
      state = .image(content, try SparseFileWriter(path: imagePath))
    }
    try head.withUnsafeBytes { try feed($0) }
  }

  /// Ends the input: unpacking is waited for, the image closed, and the checksum checked, last.
  mutating func finish() throws -> Outcome {
    if case .sniffing(let head) = state { try decide(head) }
    switch state {
    case .sniffing, .done: throw CaravanError(.internalError, "'\(source)' was finished twice")
    case .archive(var sink):
      state = .done
      try sink.finish()
      try BoxSourceRecord(source: source, sha256: whole.finalizeHex()).write(in: staging)
      return .archive
    case .image(let content, let writer):
      state = .done
      try writer.finish()
      let hex = digest.finalizeHex()
      if let checksum { try checksum.verify(hex, what: source) }
      let sha256 = digest.kind == .sha256 ? hex : whole.finalizeHex()
      try BoxSourceRecord(source: source, sha256: sha256).write(in: staging)
      return .image(path: imagePath, content: content, digest: try Checksum(kind: digest.kind, hex: hex))
    }
  }

  /// Stops after a failure: no more file is written once this returns.
  mutating func abandon() {
    switch state {
    case .archive(var sink): sink.abandon()
    case .image(_, let writer): writer.closeFile()
    case .sniffing, .done: break
    }
    state = .done
  }

  /// Feeds everything `produce` hands over, then finishes; abandons on any error.
  mutating func consume(_ produce: (_ feed: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    -> Outcome
  {
    do {
      try produce { try self.feed($0) }
      return try finish()
    } catch {
      abandon()
      throw error
    }
  }
}
