import Foundation
import Spec
import Support

/// Extracts a tar stream (ustar, GNU long names, pax paths) pushed to it in
/// chunks of any size, so a box can be unpacked while it downloads. It is
/// safe: every member must be a regular file or folder whose path stays inside
/// the target; anything else is refused by name before a byte is written.
public final class TarExtractor {
  static let block = 512
  /// A box image is large but not absurd.
  public static let maximumMemberSize: UInt64 = 1 << 42

  let target: String
  let archive: String
  private var header: [UInt8] = []
  private var state = State.header
  private var longName: String?
  private var paxPath: String?
  private var extended: [UInt8] = []
  private var output: Int32 = -1
  private var outputPath = ""
  private var members = 0

  private enum State {
    case header
    /// File data still to write (or to collect, for an extended header), then padding to skip.
    case data(remaining: UInt64, padding: Int, kind: DataKind)
    case padding(Int)
    case end
  }

  private enum DataKind { case file, sparseFile, gnuLongName, pax, ignored }

  /// An old-GNU sparse member (type 'S', what `tar -S` writes): the stored
  /// bytes are the data regions, in order; the rest of the file is holes.
  private struct Sparse {
    var name: String
    var path: String
    var size: UInt64
    var padding: Int
    var realSize: UInt64
    var regions: [(offset: UInt64, length: UInt64)]
    var region = 0
    var doneInRegion: UInt64 = 0
  }

  private var sparse: Sparse?
  /// Set while more sparse-map blocks follow the header.
  private var sparseMapContinues = false
  private var paxSparse = false

  /// Extracts into `target` (which must exist); `archive` names the source in errors.
  public init(into target: String, archive: String) {
    self.target = target
    self.archive = archive
  }

  public func feed(_ buffer: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < buffer.count {
      switch state {
      case .end:
        return  // trailing zero blocks and padding after the end marker
      case .header:
        let want = TarExtractor.block - header.count
        let take = min(want, buffer.count - offset)
        header.append(contentsOf: buffer[offset..<offset + take])
        offset += take
        if header.count == TarExtractor.block {
          if sparseMapContinues { try readSparseExtension() } else { try startMember() }
          header.removeAll(keepingCapacity: true)
        }
      case .padding(let left):
        let take = min(left, buffer.count - offset)
        offset += take
        state = left - take == 0 ? .header : .padding(left - take)
      case .data(let remaining, let padding, let kind):
        let take = Int(min(UInt64(buffer.count - offset), remaining))
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + take])
        switch kind {
        case .file: try writeOut(slice)
        case .sparseFile: try writeSparse(slice)
        case .gnuLongName, .pax: extended.append(contentsOf: slice)
        case .ignored: break
        }
        offset += take
        try begin(size: remaining - UInt64(take), padding: padding, kind: kind)
      }
    }
  }

  public func feed(_ data: Data) throws {
    try data.withUnsafeBytes { try feed($0) }
  }

  /// Checks that the archive ended cleanly.
  public func finish() throws {
    closeOutput()
    switch state {
    case .end: return
    case .header where header.isEmpty && members > 0:
      return  // no end-of-archive marker; tolerated, as GNU tar does
    default:
      if members == 0 { throw CaravanError(.invalidInput, "'\(archive)' is not a box: the tar archive is empty or cut short") }
      throw CaravanError(.invalidInput, "'\(archive)' ends in the middle of a member", hint: "The box file is truncated; download it again.")
    }
  }

  /// Closes and removes a partly written member (after a failure).
  public func abandon() {
    closeOutput()
  }

  private func closeOutput() {
    if output >= 0 {
      close(output)
      output = -1
    }
  }

  private func startMember() throws {
    if header.allSatisfy({ $0 == 0 }) {
      guard members > 0 else { throw CaravanError(.invalidInput, "'\(archive)' is not a box: the tar archive is empty") }
      state = .end
      return
    }
    guard TarExtractor.isValidChecksum(header) else {
      throw CaravanError(.invalidInput, "'\(archive)' is not a tar archive (or is damaged)",
        hint: "A .box is a tar (or .tar.gz) of metadata.json, box.img and Vagrantfile.")
    }
    members += 1
    let type = header[156]
    let size = try TarExtractor.octal(header, 124, 12, archive: archive)
    var name = longName ?? paxPath ?? TarExtractor.fullName(header)
    longName = nil
    paxPath = nil
    guard size <= TarExtractor.maximumMemberSize else {
      throw CaravanError(.invalidInput, "'\(archive)': member '\(name)' declares an absurd size (\(size) bytes)", hint: "The box file is damaged or hostile.")
    }
    let padding = (TarExtractor.block - Int(size % UInt64(TarExtractor.block))) % TarExtractor.block
    switch type {
    case UInt8(ascii: "L"), UInt8(ascii: "x"):
      guard size < 1 << 20 else { throw CaravanError(.invalidInput, "'\(archive)': an extended header is too large (\(size) bytes)") }
      extended.removeAll(keepingCapacity: true)
      try begin(size: size, padding: padding, kind: type == UInt8(ascii: "L") ? .gnuLongName : .pax)
      return
    case UInt8(ascii: "g"):
      try begin(size: size, padding: padding, kind: .ignored)
      return
    default: break
    }
    if name.hasPrefix("./") { name.removeFirst(2) }
    let path = try TarExtractor.safePath(name, archive: archive)
    if paxSparse {
      throw CaravanError(.invalidInput, "'\(archive)': member '\(name)' is a PAX-format sparse file, which Caravan does not read yet",
        hint: "Repack the box with GNU tar's own sparse format (tar --format=gnu -S -cf …) or without -S.")
    }
    switch type {
    case UInt8(ascii: "S"):
      if path.isEmpty { throw CaravanError(.invalidInput, "'\(archive)': a file member has an empty name") }
      var regions: [(UInt64, UInt64)] = []
      for i in 0..<4 { try appendRegion(header, at: 386 + i * 24, to: &regions, name: name) }
      sparse = Sparse(name: name, path: path, size: size, padding: padding,
        realSize: try TarExtractor.octal(header, 483, 12, archive: archive), regions: regions)
      sparseMapContinues = header[482] != 0
      if !sparseMapContinues { try beginSparse() }
    case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
      if path.isEmpty { throw CaravanError(.invalidInput, "'\(archive)': a file member has an empty name") }
      try openOutput(path)
      try begin(size: size, padding: padding, kind: .file)
    case UInt8(ascii: "5"):
      if !path.isEmpty {
        try FileManager.default.createDirectory(atPath: target + "/" + path, withIntermediateDirectories: true)
      }
      try begin(size: 0, padding: 0, kind: .ignored)
    default:
      let kind: String
      switch type {
      case UInt8(ascii: "1"): kind = "a hard link"
      case UInt8(ascii: "2"): kind = "a symbolic link"
      case UInt8(ascii: "3"), UInt8(ascii: "4"): kind = "a device file"
      case UInt8(ascii: "6"): kind = "a FIFO"
      default: kind = "of unknown type '\(Character(UnicodeScalar(type)))'"
      }
      throw CaravanError(.invalidInput, "'\(archive)': member '\(name)' is \(kind); a box holds only regular files and folders",
        hint: "Repack the box with plain files (tar -cf x.box metadata.json Vagrantfile box.img).")
    }
  }

  private func appendRegion(_ block: [UInt8], at offset: Int, to regions: inout [(UInt64, UInt64)], name: String) throws {
    guard block[offset] != 0 else { return }
    regions.append((try TarExtractor.octal(block, offset, 12, archive: archive),
      try TarExtractor.octal(block, offset + 12, 12, archive: archive)))
  }

  /// A block of 21 more sparse-map entries.
  private func readSparseExtension() throws {
    guard var pending = sparse else { return }
    var regions = pending.regions.map { ($0.offset, $0.length) }
    for i in 0..<21 { try appendRegion(header, at: i * 24, to: &regions, name: pending.name) }
    pending.regions = regions.map { (offset: $0.0, length: $0.1) }
    sparse = pending
    sparseMapContinues = header[504] != 0
    if !sparseMapContinues { try beginSparse() }
  }

  /// Checks the sparse map against the sizes, then takes the data.
  private func beginSparse() throws {
    guard let pending = sparse else { return }
    let stored = pending.regions.reduce(UInt64(0)) { $0 + $1.length }
    var end: UInt64 = 0
    for region in pending.regions {
      guard region.offset >= end, region.offset + region.length <= pending.realSize else {
        throw CaravanError(.invalidInput, "'\(archive)': member '\(pending.name)' has a damaged sparse map", hint: "The box file is damaged or hostile.")
      }
      end = region.offset + region.length
    }
    guard stored == pending.size, pending.realSize <= TarExtractor.maximumMemberSize else {
      throw CaravanError(.invalidInput, "'\(archive)': member '\(pending.name)' has a sparse map that does not fit its size", hint: "The box file is damaged or hostile.")
    }
    try openOutput(pending.path)
    try begin(size: pending.size, padding: pending.padding, kind: .sparseFile)
  }

  /// Writes stored bytes into their regions.
  private func writeSparse(_ bytes: UnsafeRawBufferPointer) throws {
    guard var current = sparse else { return }
    var offset = 0
    while offset < bytes.count, current.region < current.regions.count {
      let region = current.regions[current.region]
      let take = Int(min(UInt64(bytes.count - offset), region.length - current.doneInRegion))
      var written = 0
      while written < take {
        let n = pwrite(output, bytes.baseAddress!.advanced(by: offset + written), take - written,
          off_t(region.offset + current.doneInRegion) + off_t(written))
        if n <= 0 { throw writeError() }
        written += n
      }
      offset += take
      current.doneInRegion += UInt64(take)
      if current.doneInRegion == region.length {
        current.region += 1
        current.doneInRegion = 0
      }
    }
    sparse = current
  }

  /// Data of `size` bytes follows (none: the member ends now), then `padding`.
  private func begin(size: UInt64, padding: Int, kind: DataKind) throws {
    if size == 0 {
      try endMember(kind)
      state = padding > 0 ? .padding(padding) : .header
    } else {
      state = .data(remaining: size, padding: padding, kind: kind)
    }
  }

  private func endMember(_ kind: DataKind) throws {
    switch kind {
    case .file:
      // Holes written as seeks: make the file its full length.
      let length = lseek(output, 0, SEEK_CUR)
      if length >= 0 { _ = ftruncate(output, length) }
      closeOutput()
    case .sparseFile:
      if let realSize = sparse?.realSize, ftruncate(output, off_t(realSize)) != 0 { throw writeError() }
      sparse = nil
      closeOutput()
    case .gnuLongName:
      longName = String(decoding: extended.prefix { $0 != 0 }, as: UTF8.self)
    case .pax:
      paxPath = TarExtractor.paxValue(extended, key: "path")
      paxSparse = TarExtractor.paxValue(extended, key: "GNU.sparse.major") != nil
        || TarExtractor.paxValue(extended, key: "GNU.sparse.map") != nil
        || TarExtractor.paxValue(extended, key: "GNU.sparse.size") != nil
    case .ignored: break
    }
  }

  private func openOutput(_ path: String) throws {
    let full = target + "/" + path
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
    guard fd >= 0 else {
      throw CaravanError(.io, "cannot write '\(path)' from '\(archive)': \(String(cString: strerror(errno)))",
        hint: errno == EEXIST ? "The archive holds '\(path)' twice." : nil)
    }
    output = fd
    outputPath = path
  }

  /// Writes file data; whole zero blocks become holes, so sparse images stay sparse.
  private func writeOut(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    let hole = 4096
    while offset < bytes.count {
      let take = min(hole, bytes.count - offset)
      let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take])
      if take == hole && TarExtractor.isZero(chunk) {
        guard lseek(output, off_t(take), SEEK_CUR) >= 0 else { throw writeError() }
        offset += take
        continue
      }
      // Write up to the next all-zero page in one call.
      var end = offset + take
      while end < bytes.count {
        let next = min(hole, bytes.count - end)
        if next == hole && TarExtractor.isZero(UnsafeRawBufferPointer(rebasing: bytes[end..<end + next])) { break }
        end += next
      }
      var written = offset
      while written < end {
        let n = write(output, bytes.baseAddress!.advanced(by: written), end - written)
        if n <= 0 { throw writeError() }
        written += n
      }
      offset = end
    }
  }

  private func writeError() -> CaravanError {
    CaravanError(.io, "cannot write '\(outputPath)' from '\(archive)': \(String(cString: strerror(errno)))", hint: "Is the disk full?")
  }

  static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let words = bytes.count / 8
    let base = bytes.baseAddress!
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

  static func fullName(_ header: [UInt8]) -> String {
    let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
    let magic = String(decoding: header[257..<262], as: UTF8.self)
    let prefix = magic == "ustar" ? String(decoding: header[345..<500].prefix { $0 != 0 }, as: UTF8.self) : ""
    return prefix.isEmpty ? name : prefix + "/" + name
  }

  static func octal(_ header: [UInt8], _ offset: Int, _ length: Int, archive: String) throws -> UInt64 {
    let field = header[offset..<offset + length]
    if let first = field.first, first & 0x80 != 0 {  // GNU base-256
      return field.dropFirst().reduce(UInt64(first & 0x7f)) { $0 << 8 | UInt64($1) }
    }
    let text = String(decoding: field.prefix { $0 != 0 && $0 != 32 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    if text.isEmpty { return 0 }
    guard let value = UInt64(text, radix: 8) else { throw CaravanError(.invalidInput, "'\(archive)' has a damaged tar header (field '\(text)')") }
    return value
  }

  static func isValidChecksum(_ header: [UInt8]) -> Bool {
    guard let stored = try? octal(header, 148, 8, archive: "") else { return false }
    var sum: UInt64 = 0
    for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : UInt64(byte) }
    return sum == stored
  }

  static func paxValue(_ data: [UInt8], key: String) -> String? {
    // records: "LEN key=value\n"
    for record in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      guard let space = record.firstIndex(of: " ") else { continue }
      let pair = record[record.index(after: space)...]
      if pair.hasPrefix(key + "=") { return String(pair.dropFirst(key.count + 1)) }
    }
    return nil
  }
}
