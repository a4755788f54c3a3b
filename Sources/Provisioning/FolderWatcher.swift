import Foundation
import Glibc
import Support

/// Watches folder trees with Linux inotify, for `caravan rsync-auto`: every folder
/// under each root has a watch, and a folder made (or moved in) later gets one as
/// soon as its event is read. Called from one thread.
///
/// Hand-written on `inotify_init1`/`inotify_add_watch` from Glibc: no package in the
/// cache or Debian's archive wraps inotify for Swift, and this is all of it.
public final class FolderWatcher {
  private let fd: Int32
  /// Watch descriptor → (watched folder, the root it is under).
  private var watches: [Int32: (path: String, root: String)] = [:]
  public let roots: [String]

  static let mask: UInt32 =
    UInt32(IN_CREATE) | UInt32(IN_DELETE) | UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_ATTRIB)
    | UInt32(IN_MOVED_FROM) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
    | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW)

  public init(roots: [String]) throws {
    fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
    guard fd >= 0 else {
      throw CaravanError(
        .io, "cannot watch folders: inotify_init1 failed: \(String(cString: strerror(errno)))",
        hint:
          "Raise fs.inotify.max_user_instances (`sysctl fs.inotify.max_user_instances`), or run `caravan rsync` by hand."
      )
    }
    self.roots = roots
    for root in roots { try addTree(root, root: root) }
  }

  deinit { close(fd) }

  /// Folders watched, for the start-up line.
  public var count: Int { watches.count }

  /// Adds a watch on `path` and every folder under it (symbolic links not followed).
  private func addTree(_ path: String, root: String) throws {
    try addWatch(path, root: root)
    guard let walker = FileManager.default.enumerator(atPath: path) else { return }
    while let relative = walker.nextObject() as? String {
      guard walker.fileAttributes?[.type] as? FileAttributeType == .typeDirectory else { continue }
      try addWatch(path + "/" + relative, root: root)
    }
  }

  private func addWatch(_ path: String, root: String) throws {
    let wd = inotify_add_watch(fd, path, FolderWatcher.mask)
    if wd >= 0 {
      watches[wd] = (path, root)
      return
    }
    // Gone already (deleted right after it was made): nothing to watch.
    if errno == ENOENT || errno == ENOTDIR { return }
    throw CaravanError(
      .io, "cannot watch '\(path)': inotify_add_watch failed: \(String(cString: strerror(errno)))",
      hint: errno == ENOSPC
        ? "Too many folders for fs.inotify.max_user_watches; raise it (`sudo sysctl fs.inotify.max_user_watches=524288`) or exclude folders."
        : "Check that you may read the folder.")
  }

  /// Waits for a change, then until `quiet` seconds pass with no further change (so a
  /// burst of writes is one sync), and returns the roots that changed. Returns an empty
  /// set as soon as `shouldStop` says so (checked every 0.1 s).
  public func next(quiet: Double, shouldStop: () -> Bool) throws -> Set<String> {
    var changed = Set<String>()
    var lastChange: Date?
    while true {
      if shouldStop() { return [] }
      if let lastChange, Date().timeIntervalSince(lastChange) >= quiet { return changed }
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 100)
      if ready < 0 && errno != EINTR {
        throw CaravanError(.io, "waiting for folder changes failed: \(String(cString: strerror(errno)))")
      }
      guard ready > 0 else { continue }
      let roots = try drain()
      if !roots.isEmpty {
        changed.formUnion(roots)
        lastChange = Date()
      }
    }
  }

  /// Reads every pending event; returns the roots they are under, watching new folders.
  private func drain() throws -> Set<String> {
    var roots = Set<String>()
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EAGAIN || errno == EINTR { return roots }
        throw CaravanError(.io, "reading folder changes failed: \(String(cString: strerror(errno)))")
      }
      if count == 0 { return roots }
      var offset = 0
      let header = MemoryLayout<inotify_event>.size
      while offset + header <= count {
        let (wd, mask, length) = buffer.withUnsafeBytes { raw in
          let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
          return (event.wd, event.mask, Int(event.len))
        }
        let nameBytes = buffer[(offset + header)..<min(count, offset + header + length)].prefix { $0 != 0 }
        offset += header + length
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
          // Events were lost: every root may have changed.
          roots.formUnion(self.roots)
          continue
        }
        guard let watched = watches[wd] else { continue }
        if mask & UInt32(IN_IGNORED) != 0 {
          watches[wd] = nil
          continue
        }
        roots.insert(watched.root)
        if mask & UInt32(IN_ISDIR) != 0, mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 {
          try addTree(watched.path + "/" + String(decoding: nameBytes, as: UTF8.self), root: watched.root)
        }
      }
    }
  }
}
