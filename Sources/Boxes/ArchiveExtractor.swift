import Foundation
import Support

/// Unpacks what an `ArchiveReader` reads into a folder, safely: every member
/// must be a regular file or a folder whose path stays inside the folder, with
/// a sane size; anything else is refused by name before a byte of it is
/// written. Files are written by Caravan (never by libarchive), block by block
/// at their offsets, so sparse members keep their holes.
struct ArchiveExtractor {
  /// A box image is large but not absurd.
  static let maximumMemberSize: UInt64 = 1 << 42
  /// Pages of zeros this large (aligned in the file) are left as holes.
  static let page = 4096

  /// The folder to fill (it must exist).
  let target: String
  /// Names the archive in errors.
  let archive: String

  func extract(from reader: ArchiveReader) throws {
    while let entry = try reader.next() {
      var name = entry.path
      if name.hasPrefix("./") { name.removeFirst(2) }
      let path = try ArchiveExtractor.safePath(name, archive: archive)
      switch entry.kind {
      case .directory:
        if !path.isEmpty {
          try FileManager.default.createDirectory(atPath: target + "/" + path, withIntermediateDirectories: true)
        }
      case .file:
        if let size = entry.size, size > ArchiveExtractor.maximumMemberSize {
          throw CaravanError(
            .invalidInput, "'\(archive)': member '\(name)' declares an absurd size (\(size) bytes)",
            hint: "The box file is damaged or hostile.")
        }
        if path.isEmpty { throw CaravanError(.invalidInput, "'\(archive)': a file member has an empty name") }
        try writeFile(path, name: name, size: entry.size, from: reader)
      default:
        throw CaravanError(
          .invalidInput,
          "'\(archive)': member '\(name)' is \(ArchiveExtractor.describe(entry.kind)); a box holds only regular files and folders",
          hint: "Repack the box with plain files (tar -cf x.box metadata.json Vagrantfile box.img).")
      }
    }
  }

  static func describe(_ kind: ArchiveEntry.Kind) -> String {
    switch kind {
    case .file: return "a regular file"
    case .directory: return "a folder"
    case .symbolicLink: return "a symbolic link"
    case .hardLink: return "a hard link"
    case .device: return "a device file"
    case .fifo: return "a FIFO"
    case .socket: return "a socket"
    case .unknown: return "of an unknown type"
    }
  }

  /// Writes a member's data blocks at their offsets, then sets its length
  /// (a sparse member's trailing hole included).
  private func writeFile(_ path: String, name: String, size: UInt64?, from reader: ArchiveReader) throws {
    let full = target + "/" + path
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
    guard fd >= 0 else {
      let code = errno
      throw CaravanError(
        .io, "cannot write '\(path)' from '\(archive)': \(String(cString: strerror(code)))",
        hint: code == EEXIST ? "The archive holds '\(path)' twice." : nil)
    }
    defer { close(fd) }
    let limit = size ?? ArchiveExtractor.maximumMemberSize
    var end: UInt64 = 0
    while let block = try reader.nextBlock() {
      let (blockEnd, overflow) = block.offset.addingReportingOverflow(UInt64(block.bytes.count))
      guard !overflow, blockEnd <= limit else {
        throw CaravanError(
          .invalidInput, "'\(archive)': member '\(name)' holds data beyond its declared size (\(limit) bytes)",
          hint: "The box file is damaged or hostile.")
      }
      try write(block.bytes, at: block.offset, to: fd, path: path)
      end = max(end, blockEnd)
    }
    guard ftruncate(fd, off_t(size ?? end)) == 0 else { throw writeError(path) }
  }

  /// Writes `bytes` at `offset`; whole pages of zeros become holes, so an
  /// image stays sparse even from an archive that stored its zeros.
  private func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, to fd: Int32, path: String) throws {
    let page = ArchiveExtractor.page
    var start = 0
    while start < bytes.count {
      let take = min(page - Int((offset + UInt64(start)) % UInt64(page)), bytes.count - start)
      if take == page && ArchiveExtractor.isZero(UnsafeRawBufferPointer(rebasing: bytes[start..<start + take])) {
        start += take
        continue
      }
      // One write up to the next page of zeros (pages are aligned from here on).
      var end = start + take
      while end < bytes.count {
        let next = min(page, bytes.count - end)
        if next == page && ArchiveExtractor.isZero(UnsafeRawBufferPointer(rebasing: bytes[end..<end + next])) { break }
        end += next
      }
      var written = start
      while written < end {
        let n = pwrite(fd, bytes.baseAddress?.advanced(by: written), end - written, off_t(offset + UInt64(written)))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw writeError(path) }
        written += n
      }
      start = end
    }
  }

  private func writeError(_ path: String) -> CaravanError {
    CaravanError(
      .io, "cannot write '\(path)' from '\(archive)': \(String(cString: strerror(errno)))", hint: "Is the disk full?")
  }

  static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let words = bytes.count / 8
    for i in 0..<words where base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
    for i in words * 8..<bytes.count where bytes[i] != 0 { return false }
    return true
  }

  /// A relative path with no `..` and no absolute start; "" for the archive root.
  static func safePath(_ name: String, archive: String) throws -> String {
    if name.hasPrefix("/") {
      throw CaravanError(.invalidInput, "'\(archive)': member '\(name)' has an absolute path; refused")
    }
    let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    if parts.contains("..") {
      throw CaravanError(.invalidInput, "'\(archive)': member '\(name)' points outside the box folder ('..'); refused")
    }
    return parts.joined(separator: "/")
  }
}
