import Foundation

/// One `caravan` process changes a project at a time: an exclusive `flock` on
/// `.caravan/lock`, released when the process exits (even when it is killed).
public final class ProjectLock {
  private let fd: Int32
  public let path: String

  /// Takes the lock; when another process holds it, says so on `notice` and
  /// waits, or fails at once with `wait: false`.
  public init(stateDirectory: String, wait: Bool, notice: (String) -> Void) throws {
    try FileSystem.makeDirectory(stateDirectory)
    path = stateDirectory + "/lock"
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FileSystem.ioError("open the lock file", path) }
    if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
    guard errno == EWOULDBLOCK else {
      let error = FileSystem.ioError("lock", path)
      close(fd)
      throw error
    }
    guard wait else {
      close(fd)
      throw CaravanError(.conflict, "another caravan command is working on this project (lock: \(path))",
        hint: "Wait for it to finish, or run again without --no-wait to wait for it.")
    }
    notice("another caravan command is working on this project; waiting for it to finish (Ctrl-C to stop)")
    while flock(fd, LOCK_EX) != 0 {
      if errno != EINTR {
        let error = FileSystem.ioError("lock", path)
        close(fd)
        throw error
      }
    }
  }

  deinit {
    flock(fd, LOCK_UN)
    close(fd)
  }
}
