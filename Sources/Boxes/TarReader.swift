import Foundation

/// Extracts an uncompressed tar archive (ustar, GNU long names, pax paths,
/// GNU sparse members are refused) safely: every member must be a regular
/// file or folder whose path stays inside the target; anything else is
/// refused by name before it is written.
public enum TarReader {
  static let block = 512
  /// A box image is large but not absurd.
  public static let maximumMemberSize: UInt64 = 1 << 42

  public static func extract(archive: String, into target: String) throws {
    guard let handle = FileHandle(forReadingAtPath: archive) else {
      throw BoxError("cannot open '\(archive)'", hint: "Check the path and that you may read it.")
    }
    defer { try? handle.close() }
    var longName: String?
    var paxPath: String?
    var sawMember = false
    while true {
      let header = try readExactly(handle, block, archive: archive)
      if header.allSatisfy({ $0 == 0 }) {
        guard sawMember else { throw BoxError("'\(archive)' is not a box: the tar archive is empty") }
        return
      }
      guard isValidChecksum(header) else {
        throw BoxError("'\(archive)' is not a tar archive (or is damaged)",
          hint: "A .box is a tar of metadata.json, box.img and Vagrantfile; compressed boxes are not supported yet.")
      }
      sawMember = true
      let type = header[156]
      let size = try octal(header, 124, 12, archive: archive)
      var name = longName ?? paxPath ?? fullName(header)
      longName = nil
      paxPath = nil
      guard size <= maximumMemberSize else {
        throw BoxError("'\(archive)': member '\(name)' declares an absurd size (\(size) bytes)", hint: "The box file is damaged or hostile.")
      }
      switch type {
      case UInt8(ascii: "L"):  // GNU long name for the next member
        longName = String(decoding: try readPadded(handle, size, archive: archive).prefix { $0 != 0 }, as: UTF8.self)
        continue
      case UInt8(ascii: "x"):  // pax header: only `path` matters to us
        let data = try readPadded(handle, size, archive: archive)
        paxPath = paxValue(data, key: "path")
        continue
      case UInt8(ascii: "g"):
        _ = try readPadded(handle, size, archive: archive)
        continue
      default: break
      }
      if name.hasPrefix("./") { name.removeFirst(2) }
      let path = try safePath(name, archive: archive)
      switch type {
      case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
        if path.isEmpty { throw BoxError("'\(archive)': a file member has an empty name") }
        try writeMember(handle, size: size, to: target + "/" + path, archive: archive)
      case UInt8(ascii: "5"):
        if !path.isEmpty {
          try FileManager.default.createDirectory(atPath: target + "/" + path, withIntermediateDirectories: true)
        }
      default:
        let kind: String
        switch type {
        case UInt8(ascii: "1"): kind = "a hard link"
        case UInt8(ascii: "2"): kind = "a symbolic link"
        case UInt8(ascii: "3"), UInt8(ascii: "4"): kind = "a device file"
        case UInt8(ascii: "6"): kind = "a FIFO"
        case UInt8(ascii: "S"): kind = "a GNU sparse file"
        default: kind = "of unknown type '\(Character(UnicodeScalar(type)))'"
        }
        throw BoxError("'\(archive)': member '\(name)' is \(kind); a box holds only regular files and folders",
          hint: "Repack the box with plain files (tar -cf box.box metadata.json Vagrantfile box.img).")
      }
    }
  }

  /// A relative path with no `..`, no absolute start, no NUL; "" for the archive root.
  static func safePath(_ name: String, archive: String) throws -> String {
    if name.hasPrefix("/") {
      throw BoxError("'\(archive)': member '\(name)' has an absolute path; refused")
    }
    let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    if parts.contains("..") {
      throw BoxError("'\(archive)': member '\(name)' points outside the box folder ('..'); refused")
    }
    return parts.joined(separator: "/")
  }

  static func writeMember(_ handle: FileHandle, size: UInt64, to path: String, archive: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
    guard fd >= 0 else {
      throw BoxError("cannot write '\(path)' from '\(archive)': \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var remaining = size
    let chunk = 4 << 20
    while remaining > 0 {
      let want = Int(min(UInt64(chunk), remaining))
      guard let data = try handle.read(upToCount: want), data.count == want else {
        throw BoxError("'\(archive)' ends in the middle of '\((path as NSString).lastPathComponent)'", hint: "The box file is truncated; download it again.")
      }
      // Write holes for all-zero blocks so sparse disk images stay sparse.
      if data.allSatisfy({ $0 == 0 }) {
        guard lseek(fd, off_t(want), SEEK_CUR) >= 0 else { throw BoxError("cannot write '\(path)': \(String(cString: strerror(errno)))") }
      } else {
        try data.withUnsafeBytes { buffer in
          var offset = 0
          while offset < buffer.count {
            let n = write(fd, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
            if n <= 0 { throw BoxError("cannot write '\(path)': \(String(cString: strerror(errno)))", hint: "Is the disk full?") }
            offset += n
          }
        }
      }
      remaining -= UInt64(want)
    }
    guard ftruncate(fd, off_t(size)) == 0 else { throw BoxError("cannot write '\(path)': \(String(cString: strerror(errno)))") }
    let padding = (block - Int(size % UInt64(block))) % block
    if padding > 0 { _ = try readExactly(handle, padding, archive: archive) }
  }

  static func readExactly(_ handle: FileHandle, _ count: Int, archive: String) throws -> [UInt8] {
    guard let data = try handle.read(upToCount: count), data.count == count else {
      throw BoxError("'\(archive)' ends unexpectedly", hint: "The box file is truncated or not a tar archive.")
    }
    return [UInt8](data)
  }

  static func readPadded(_ handle: FileHandle, _ size: UInt64, archive: String) throws -> [UInt8] {
    guard size < 1 << 20 else { throw BoxError("'\(archive)': an extended header is too large (\(size) bytes)") }
    let padded = (Int(size) + block - 1) / block * block
    return Array(try readExactly(handle, padded, archive: archive).prefix(Int(size)))
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
    guard let value = UInt64(text, radix: 8) else { throw BoxError("'\(archive)' has a damaged tar header (size field '\(text)')") }
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
