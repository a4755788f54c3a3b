internal import CArchive
import Foundation
import Support

/// Writes an ISO 9660 image into memory with libarchive: the cloud-init seed's
/// format. The one other file in Caravan that touches libarchive (beside
/// `ArchiveReader`); every call is checked, and the handle is freed in `deinit`.
final class ISOImageWriter {
  private let handle: OpaquePointer
  /// Names the image in errors (`cloud-init seed 'web'`).
  let subject: String
  /// What libarchive has written so far; filled by `collect` through the client pointer.
  private let sink = Sink()
  private var opened = false

  private final class Sink {
    var bytes = Data()
  }

  /// `options` are libarchive's iso9660 writer options (`volume-id=cidata`,
  /// `rockridge`, `joliet`), set before anything is written.
  init(subject: String, options: [String]) throws {
    guard let handle = archive_write_new() else {
      throw CaravanError(.internalError, "cannot write \(subject): libarchive could not start (out of memory?)")
    }
    self.handle = handle
    self.subject = subject
    try check(archive_write_set_format_iso9660(handle), "choose the ISO 9660 format")
    for option in options {
      let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
      try check(
        archive_write_set_format_option(handle, "iso9660", parts[0], parts.count > 1 ? parts[1] : "1"),
        "set the ISO 9660 option '\(option)'")
    }
    let client = Unmanaged.passUnretained(sink).toOpaque()
    try check(archive_write_open2(handle, client, nil, ISOImageWriter.collect, nil, nil), "start the image")
    opened = true
  }

  deinit {
    if opened { archive_write_close(handle) }
    archive_write_free(handle)
  }

  /// Adds a regular file `name` (mode 0644, owned by root) holding `data`, dated `time`.
  func add(_ name: String, _ data: Data, time: Int) throws {
    guard let entry = archive_entry_new() else {
      throw CaravanError(.internalError, "cannot write \(subject): libarchive could not start (out of memory?)")
    }
    defer { archive_entry_free(entry) }
    archive_entry_set_pathname(entry, name)
    archive_entry_set_filetype(entry, UInt32(caravan_ae_ifreg))
    archive_entry_set_perm(entry, 0o644)
    archive_entry_set_size(entry, la_int64_t(data.count))
    for set in [archive_entry_set_mtime, archive_entry_set_atime, archive_entry_set_ctime, archive_entry_set_birthtime]
    {
      set(entry, time_t(time), 0)
    }
    try check(archive_write_header(handle, entry), "add '\(name)'")
    let written = data.withUnsafeBytes { buffer -> Int in
      guard let base = buffer.baseAddress else { return 0 }
      return archive_write_data(handle, base, buffer.count)
    }
    guard written == data.count else {
      throw failure("write the data of '\(name)'", status: Int32(clamping: written))
    }
  }

  /// Finishes the image (its directory tables and volume descriptors) and returns its bytes.
  func finish() throws -> Data {
    try check(archive_write_close(handle), "finish the image")
    opened = false
    return sink.bytes
  }

  /// libarchive's write callback: appends each block to the sink.
  private static let collect: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int =
    { _, client, buffer, length in
      guard let client, let buffer else { return -1 }
      let sink = Unmanaged<Sink>.fromOpaque(client).takeUnretainedValue()
      sink.bytes.append(buffer.assumingMemoryBound(to: UInt8.self), count: length)
      return length
    }

  private func check(_ status: Int32, _ what: String) throws {
    guard status != ARCHIVE_OK && status != ARCHIVE_WARN else { return }
    throw failure(what, status: status)
  }

  private func failure(_ what: String, status: Int32) -> CaravanError {
    let text = archive_error_string(handle).map { String(cString: $0) } ?? "libarchive error \(status)"
    return CaravanError(
      .internalError, "cannot write \(subject): libarchive could not \(what): \(text)",
      hint: "Install Debian's libarchive13 (3.6 or newer), whose ISO 9660 writer Caravan uses.")
  }
}
