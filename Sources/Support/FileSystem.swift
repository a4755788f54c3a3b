import Foundation

/// Small file helpers with errors that name the path.
public enum FileSystem {
  /// Writes atomically: a temporary file beside the target, fsync, rename. Mode 0600 by default.
  public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
    let dir = (path as NSString).deletingLastPathComponent
    try makeDirectory(dir)
    // Unique per call: two threads of one process may write the same file at once.
    let temp = dir + "/.\((path as NSString).lastPathComponent).\(getpid()).\(UInt32.random(in: .min ... .max)).tmp"
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw ioError("create", temp) }
    var ok = false
    defer {
      if !ok { unlink(temp) }
    }
    let written = data.withUnsafeBytes { buffer -> Bool in
      guard let base = buffer.baseAddress else { return true }  // no bytes to write
      var offset = 0
      while offset < buffer.count {
        let n = write(fd, base.advanced(by: offset), buffer.count - offset)
        if n <= 0 { return false }
        offset += n
      }
      return true
    }
    if !written || fsync(fd) != 0 {
      let error = ioError("write", temp)
      close(fd)
      throw error
    }
    close(fd)
    guard rename(temp, path) == 0 else { throw ioError("rename into place", path) }
    ok = true
    let dirFD = open(dir, O_RDONLY | O_DIRECTORY)
    if dirFD >= 0 {
      fsync(dirFD)
      close(dirFD)
    }
  }

  public static func makeDirectory(_ path: String, mode: Int = 0o755) throws {
    do {
      try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    } catch {
      throw CaravanError(
        .io, "cannot create folder '\(path)': \(error.localizedDescription)",
        hint: "Check that you may write there.", cause: error)
    }
  }

  public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  /// The executable file `name` names: a path as it is, else the first of PATH's
  /// folders (from `environment`; unset or empty, the usual ones) that holds it.
  public static func findProgram(_ name: String, environment: [String: String]) -> String? {
    if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
    let path = environment["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
  }

  /// A new folder `PREFIX.XXXXXX` (mode 0700) in `$TMPDIR`, else /var/tmp (disk images
  /// go there, so not a tmpfs /tmp).
  public static func makeTemporaryDirectory(
    prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> String {
    let base = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
    var template = Array((base + "/" + prefix + ".XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw ioError("create a folder in", base) }
    return String(cString: made)
  }

  public static func removeTree(_ path: String) throws {
    guard exists(path) else { return }
    do { try FileManager.default.removeItem(atPath: path) } catch {
      throw CaravanError(.io, "cannot remove '\(path)': \(error.localizedDescription)", cause: error)
    }
  }

  public static func ioError(_ what: String, _ path: String) -> CaravanError {
    CaravanError(.io, "cannot \(what) '\(path)': \(String(cString: strerror(errno)))")
  }

  /// The one path resolver: `path` against `base` unless it is absolute; `~` is
  /// the home folder; `.` and `..` are folded (symbolic links are not followed).
  public static func resolve(_ path: String, relativeTo base: String) -> String {
    let joined: String
    if path.hasPrefix("/") {
      joined = path
    } else if path == "~" || path.hasPrefix("~/") {
      joined = NSHomeDirectory() + path.dropFirst()
    } else {
      joined = (base as NSString).appendingPathComponent(path)
    }
    return (joined as NSString).standardizingPath
  }

  /// `path` resolved against the current folder.
  public static func absolute(_ path: String) -> String {
    resolve(path, relativeTo: FileManager.default.currentDirectoryPath)
  }
}
