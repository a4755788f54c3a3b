import Foundation

/// A `flock` on a file, shared by every caravan process of this host: the
/// project lock (`.caravan/lock`), box installs, box imports, port choice
/// (exclusive), and box use (shared while `up` uses a box version, exclusive
/// while `box remove` deletes it). Released by `unlock()`, when the object
/// goes, or when the process dies (even when it is killed).
public final class FileLock: @unchecked Sendable {
  // @unchecked: `fd` is only changed by `init` and `unlock`, which its owner calls on one thread.
  private var fd: Int32
  public let path: String
  /// Held with others (`LOCK_SH`): any number of shared holders, no exclusive one.
  public let shared: Bool

  /// Takes the lock, exclusive unless `shared`. When another holder keeps it
  /// from us (an exclusive one, or for an exclusive lock any one; also
  /// another `FileLock` on the same file in this process): with `wait`, says
  /// `waitNotice` (if given) and blocks until it is free (or an interrupt
  /// comes: `.interrupted`); without, throws `busy` at once.
  public init(
    path: String, shared: Bool = false, wait: Bool = true, waitNotice: ((String) -> Void)? = nil,
    busy: @autoclosure () -> CaravanError = CaravanError(.conflict, "the lock is held by another process")
  ) throws {
    self.path = path
    self.shared = shared
    let mode = shared ? LOCK_SH : LOCK_EX
    try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent)
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FileSystem.ioError("open the lock file", path) }
    if flock(fd, mode | LOCK_NB) == 0 { return }
    guard errno == EWOULDBLOCK else { throw fail("lock") }
    guard wait else {
      // A class whose init throws still runs `deinit`: leave it no descriptor to close twice.
      close(fd)
      fd = -1
      throw busy()
    }
    waitNotice?(path)
    // Tried again every `Interrupt.pollInterval`, so that Ctrl-C stops the wait.
    while flock(fd, mode | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR else { throw fail("lock") }
      if Interrupt.process.requested {
        close(fd)
        fd = -1
        throw Interrupt.stopped("interrupted while waiting for the lock \(path)")
      }
      Thread.sleep(forTimeInterval: Interrupt.pollInterval)
    }
  }

  private func fail(_ what: String) -> CaravanError {
    let error = FileSystem.ioError(what, path)
    close(fd)
    fd = -1
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
