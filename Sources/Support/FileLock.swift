import Foundation

/// An exclusive `flock` on a file, shared by every caravan process of this host:
/// the project lock (`.caravan/lock`), box installs, box imports, port choice.
/// Released by `unlock()`, when the object goes, or when the process dies (even
/// when it is killed).
public final class FileLock: @unchecked Sendable {
  // @unchecked: `fd` is only changed by `unlock`, which its owner calls once, on one thread.
  private var fd: Int32
  public let path: String

  /// Takes the lock. When another process holds it: with `wait`, says
  /// `waitNotice` (if given) and blocks until it is free; without, throws
  /// `busy` at once.
  public init(
    path: String, wait: Bool = true, waitNotice: ((String) -> Void)? = nil,
    busy: @autoclosure () -> CaravanError = CaravanError(.conflict, "the lock is held by another process")
  ) throws {
    self.path = path
    try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent)
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FileSystem.ioError("open the lock file", path) }
    if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
    guard errno == EWOULDBLOCK else { throw fail("lock") }
    guard wait else {
      close(fd)
      throw busy()
    }
    waitNotice?(path)
    while flock(fd, LOCK_EX) != 0 {
      guard errno == EINTR else { throw fail("lock") }
    }
  }

  private func fail(_ what: String) -> CaravanError {
    let error = FileSystem.ioError(what, path)
    close(fd)
    return error
  }

  public func unlock() {
    guard fd >= 0 else { return }
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { unlock() }
}
