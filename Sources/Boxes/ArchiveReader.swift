internal import CArchive
import Foundation
import Support

/// One member of an archive, as its header describes it.
struct ArchiveEntry {
  enum Kind: Equatable {
    case file, directory, symbolicLink, hardLink, device, fifo, socket, unknown
  }

  /// The path as stored in the archive (not yet checked).
  var path: String
  var kind: Kind
  /// The file's full size (holes included, for a sparse member); nil when
  /// the header does not say (a zip member whose sizes follow its data).
  var size: UInt64?
}

/// Reads a box archive from a file descriptor with libarchive, one member and
/// one data block at a time: tar in every variant (ustar, GNU, PAX; old-GNU
/// and PAX 0.0/0.1/1.0 sparse members) and zip (read as a stream), plain or
/// compressed with gzip, bzip2, xz or zstd. It never writes to disk itself.
/// The only code in Caravan that touches libarchive; every call is checked.
final class ArchiveReader {
  private let handle: OpaquePointer
  /// Names the archive in errors (a path or a URL).
  let source: String
  private var entries = 0
  /// The member whose data is being read, for errors.
  private var current: String?

  /// Starts reading from `fd`, which stays open (the caller closes it after
  /// this reader is gone). Reads are blocking; use it off the cooperative pool.
  init(fd: Int32, source: String) throws {
    guard let handle = archive_read_new() else {
      throw CaravanError(.internalError, "cannot unpack '\(source)': libarchive could not start (out of memory?)")
    }
    self.handle = handle
    self.source = source
    // The filters and formats a box comes in, and no others (not _all: a box
    // is never a cpio, an ISO or a uuencoded file, and each reader is attack surface).
    let setup: [(String, (OpaquePointer) -> Int32)] = [
      ("uncompressed input", archive_read_support_filter_none),
      ("gzip", archive_read_support_filter_gzip),
      ("bzip2", archive_read_support_filter_bzip2),
      ("xz", archive_read_support_filter_xz),
      ("zstd", archive_read_support_filter_zstd),
      ("tar", archive_read_support_format_tar),
      ("zip", archive_read_support_format_zip_streamable),
    ]
    for (what, enable) in setup {
      try check(enable(handle)) {
        CaravanError(
          .internalError, "cannot unpack '\(source)': this libarchive cannot read \(what) (\($0))",
          hint: "Install Debian's libarchive13 (3.6 or newer), built with gzip, bzip2, xz and zstd support.")
      }
    }
    // Opening reads the first bytes to tell the compression and the format.
    try check(archive_read_open_fd(handle, fd, 64 << 10)) { self.headerFailure($0) }
  }

  deinit { archive_read_free(handle) }

  /// The next member's header, or nil at the end of the archive. Any data of
  /// the previous member not read yet is skipped.
  func next() throws -> ArchiveEntry? {
    var entry: OpaquePointer?
    let status = try check(archive_read_next_header(handle, &entry)) { self.headerFailure($0) }
    guard status != ARCHIVE_EOF, let entry else { return nil }
    entries += 1
    let path = (archive_entry_pathname(entry) ?? archive_entry_pathname_utf8(entry)).map { String(cString: $0) } ?? ""
    current = path
    return ArchiveEntry(
      path: path, kind: ArchiveReader.kind(of: entry),
      size: archive_entry_size_is_set(entry) != 0 ? UInt64(clamping: archive_entry_size(entry)) : nil)
  }

  /// The current member's next block of data and its offset in the file
  /// (blocks of a sparse member skip its holes), or nil after the last one.
  /// The bytes are valid until the next call.
  func nextBlock() throws -> (bytes: UnsafeRawBufferPointer, offset: UInt64)? {
    var buffer: UnsafeRawPointer?
    var size = 0
    var offset: la_int64_t = 0
    let status = try check(archive_read_data_block(handle, &buffer, &size, &offset)) { self.damaged($0) }
    if status == ARCHIVE_EOF { return nil }
    return (UnsafeRawBufferPointer(start: buffer, count: buffer == nil ? 0 : size), UInt64(clamping: offset))
  }

  private static func kind(of entry: OpaquePointer) -> ArchiveEntry.Kind {
    if archive_entry_hardlink(entry) != nil { return .hardLink }
    switch archive_entry_filetype(entry) & caravan_ae_ifmt {
    case caravan_ae_ifreg: return .file
    case caravan_ae_ifdir: return .directory
    case caravan_ae_iflnk: return .symbolicLink
    case caravan_ae_ifchr, caravan_ae_ifblk: return .device
    case caravan_ae_ififo: return .fifo
    case caravan_ae_ifsock: return .socket
    default: return .unknown
    }
  }

  /// Passes `status` through when libarchive succeeded (OK, EOF, or a warning
  /// it recovered from), else throws `failure` built from libarchive's own words.
  @discardableResult
  private func check(_ status: Int32, _ failure: (_ libarchiveSays: String) -> CaravanError) throws -> Int32 {
    switch status {
    case ARCHIVE_OK, ARCHIVE_EOF, ARCHIVE_WARN: return status
    default:
      let text = archive_error_string(handle).map { String(cString: $0) } ?? "libarchive error \(status)"
      throw failure(text)
    }
  }

  /// Before the first member, a format error (libarchive's EILSEQ) means
  /// this is no archive Caravan reads; later, the archive is damaged.
  private func headerFailure(_ text: String) -> CaravanError {
    guard entries == 0 && archive_errno(handle) == EILSEQ else { return damaged(text) }
    return CaravanError(
      .invalidInput, "'\(source)' is not a box archive (tar, tar.gz, tar.bz2, tar.xz, tar.zst or zip): \(text)",
      hint:
        "A .box holds metadata.json, box.img and Vagrantfile in one of those formats; if it should, it is damaged: download it again."
    )
  }

  private func damaged(_ text: String) -> CaravanError {
    let member = current.map { " in member '\($0)'" } ?? ""
    return CaravanError(
      .invalidInput, "'\(source)' is damaged or cut short\(member): \(text)",
      hint: "The box file is truncated or corrupt; download it again.")
  }
}
