import Foundation
import Support

/// Writes a stream into a new file, leaving whole pages of zeros as holes (as
/// unpacked box images are), so a raw image with gigabytes of empty disk takes
/// only what it holds while it waits for `qemu-img convert`.
final class SparseFileWriter {
  let path: String
  private var fd: Int32
  private(set) var size: UInt64 = 0

  init(path: String) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileSystem.ioError("write", path) }
  }

  deinit { if fd >= 0 { close(fd) } }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    let page = ArchiveExtractor.page
    var start = 0
    while start < bytes.count {
      // Up to the next page boundary of the file, then whole pages.
      let take = min(page - Int((size + UInt64(start)) % UInt64(page)), bytes.count - start)
      let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<start + take])
      if !(take == page && ArchiveExtractor.isZero(piece)) {
        try writeAll(piece, at: size + UInt64(start))
      }
      start += take
    }
    size += UInt64(bytes.count)
  }

  private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
    var written = 0
    while written < bytes.count {
      let n = pwrite(
        fd, bytes.baseAddress?.advanced(by: written), bytes.count - written, off_t(offset + UInt64(written)))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw CaravanError(
          .io, "cannot write '\(path)': \(String(cString: strerror(errno)))", hint: "Is the disk full?")
      }
      written += n
    }
  }

  /// Sets the file's length (a trailing hole included) and closes it.
  func finish() throws {
    defer { closeFile() }
    guard ftruncate(fd, off_t(size)) == 0 else { throw FileSystem.ioError("write", path) }
  }

  /// Closes the file (after a failure, or once `finish` set its length).
  func closeFile() {
    if fd >= 0 { close(fd) }
    fd = -1
  }
}
