import Foundation
import Synchronization

/// A `flock` on a file, shared by every caravan process of this host: the
/// project lock (`.caravan/lock`), box installs, box imports, port choice
/// (exclusive), and box use (shared while `up` uses a box version, exclusive
/// while `box remove` deletes it). Released by `unlock()`, when the object
/// goes, or when the process dies (even when it is killed).
public final class FileLock: Sendable {
  /// The open lock file; -1 once unlocked.
  private let fd: Mutex<Int32>
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
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FileSystem.ioError("open the lock file", path) }
    // Until the lock is taken, every way out closes `fd` itself (`deinit` does not run).
    func fail(_ what: String) -> CaravanError {
      let error = FileSystem.ioError(what, path)
      close(fd)
      return error
    }
    if flock(fd, mode | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK else { throw fail("lock") }
      guard wait else {
        close(fd)
        throw busy()
      }
      waitNotice?(path)
      // Tried again every `Interrupt.pollInterval`, so that Ctrl-C stops the wait.
      while flock(fd, mode | LOCK_NB) != 0 {
        guard errno == EWOULDBLOCK || errno == EINTR else { throw fail("lock") }
        if Interrupt.process.requested {
          close(fd)
          throw Interrupt.stopped("interrupted while waiting for the lock \(path)")
        }
        Thread.sleep(forTimeInterval: Interrupt.pollInterval)
      }
    }
    self.fd = Mutex(fd)
  }

  public func unlock() {
    fd.withLock { fd in
      guard fd >= 0 else { return }
      flock(fd, LOCK_UN)
      close(fd)
      fd = -1
    }
  }

  deinit { unlock() }
}
