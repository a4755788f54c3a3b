import Foundation
import Support

/// Staging folders (`VERSION/.libvirt.partial-PID`) are where an install
/// unpacks a box before renaming it into place. A killed `box add` or `up`
/// leaves its folder behind; it is removed once its process is gone.
extension BoxStore {
  static let stagingPrefix = ".libvirt.partial-"

  /// The lock that serialises installs of one box name across processes.
  func installLockPath(name: String) -> String { "\(lockDirectory)/box-\(BoxStore.escape(name)).lock" }

  /// Staging folders of a box name (escaped as in the store), with the PID
  /// that made each; folders whose name carries no PID are not listed.
  func stagingFolders(escapedName: String) -> [(path: String, pid: pid_t)] {
    let nameDir = "\(root)/\(escapedName)"
    let fm = FileManager.default
    guard let versions = try? fm.contentsOfDirectory(atPath: nameDir) else { return [] }
    var found: [(String, pid_t)] = []
    for version in versions where !version.hasPrefix(".") {
      for entry in (try? fm.contentsOfDirectory(atPath: "\(nameDir)/\(version)")) ?? []
      where entry.hasPrefix(BoxStore.stagingPrefix) {
        guard let pid = pid_t(entry.dropFirst(BoxStore.stagingPrefix.count)), pid > 0 else { continue }
        found.append(("\(nameDir)/\(version)/\(entry)", pid))
      }
    }
    return found
  }

  /// True when no process `pid` exists (`kill(pid, 0)` says ESRCH). A process
  /// of another user (EPERM) is alive.
  static func isGone(_ pid: pid_t) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

  /// Removes the staging folders of `name` whose process is gone, under the
  /// box's install lock; when an install of `name` holds it, nothing is done
  /// now (a later install, list or remove does it).
  func sweepStaging(name: String) {
    guard let lock = try? FileLock(path: installLockPath(name: name), wait: false) else { return }
    defer { lock.unlock() }
    sweepStagingLocked(name: name)
  }

  /// `sweepStaging` for a caller that holds the install lock of `name`.
  func sweepStagingLocked(name: String) {
    for (path, pid) in stagingFolders(escapedName: BoxStore.escape(name)) where BoxStore.isGone(pid) {
      try? FileManager.default.removeItem(atPath: path)
      let versionDir = (path as NSString).deletingLastPathComponent
      BoxStore.removeIfEmpty(versionDir)
      BoxStore.removeIfEmpty((versionDir as NSString).deletingLastPathComponent)
    }
  }

  /// Removes the folder `path` if it is empty.
  static func removeIfEmpty(_ path: String) {
    if (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true {
      try? FileManager.default.removeItem(atPath: path)
    }
  }
}
