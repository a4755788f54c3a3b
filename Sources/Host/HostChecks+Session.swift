import Foundation
import Support

/// The checks of a normal user's `qemu:///session`: the folders its daemon needs
/// and does not make, and what needs root there.
extension HostChecks {
  /// The session's folders (see `LibvirtFolders`): each there, or one `up` can make
  /// (its nearest existing parent is writable); an error when one cannot be made.
  /// A HOME that is not used (see `UserHome`) is a warning naming the home used instead.
  public func sessionFolders() -> HealthCheck {
    let id = "session_folders"
    guard LibvirtFolders.isSession(uri) else {
      return HealthCheck(id, .skipped, "not qemu:///session: the system daemon keeps its own folders")
    }
    guard LibvirtURI.isLocalURI(uri) else {
      return HealthCheck(id, .skipped, "libvirt at '\(uri)' is on another host: its folders are not checked from here")
    }
    let userHome = host.home
    let folders = LibvirtFolders(uri: uri, environment: environment, home: userHome.path)
    let wanted = [
      ("log folder", folders.qemuLogDirectory),
      ("pool folder", (folders.poolDirectory("caravan") as NSString).deletingLastPathComponent),
    ]
    var found: [String] = []
    var blocked: [String] = []
    for (what, path) in wanted {
      if host.exists(path) {
        found.append("\(what) \(path) is there")
      } else if let parent = nearestParent(path), !canWrite(parent) {
        blocked.append("\(what) \(path) is missing and cannot be made (\(parent) is \(describeFacts(parent)))")
      } else {
        found.append("\(what) \(path) is missing: `up` makes it")
      }
    }
    let home = "your home \(userHome.path) (from \(userHome.source.rawValue))"
    guard blocked.isEmpty else {
      return HealthCheck(
        id, .error, "qemu:///session in \(home): " + (blocked + found).joined(separator: "; "),
        fix:
          "Run caravan with HOME set to your own home, or make the folders yourself: `mkdir -p \(wanted.map { shellWord($0.1) }.joined(separator: " "))`."
      )
    }
    if let ignored = userHome.ignored {
      return HealthCheck(
        id, .warning,
        "HOME is '\(ignored)', not a folder you may write in: Caravan uses \(home) and starts the session daemon with it; "
          + found.joined(separator: "; "),
        fix: "Set HOME to your home (\(userHome.path)), as a login shell does (`sudo -iu USER`, `su - USER`).")
    }
    return HealthCheck(id, .ok, "qemu:///session in \(home): " + found.joined(separator: "; "))
  }

  /// What needs root on a session connection, said once (ok: it is a fact, not a fault).
  public func rootOnlyFeatures() -> HealthCheck {
    let id = "needs_root"
    guard LibvirtFolders.isSession(uri) else {
      return HealthCheck(id, .skipped, "not qemu:///session: \(uri) makes networks itself")
    }
    return HealthCheck(
      id, .ok,
      "on qemu:///session everything runs as you except `network private` (a libvirt network: use qemu:///system, as root or in group libvirt) and `caravan build` of a rootfs Boxfile (mmdebstrap, loop devices, mount: `sudo caravan build`)"
    )
  }

  /// The nearest folder at or above `path` that exists.
  func nearestParent(_ path: String) -> String? {
    var current = path
    while !host.exists(current) {
      guard current != "/" && !current.isEmpty else { return nil }
      current = (current as NSString).deletingLastPathComponent
    }
    return current
  }

  /// Whether the user running caravan may make entries in the folder `path`.
  func canWrite(_ path: String) -> Bool {
    guard let file = host.stat(path), let me = host.currentUser else { return true }
    if me.uid == 0 { return true }
    if file.uid == me.uid { return file.mode & 0o300 == 0o300 }
    if me.groups.contains(file.gid) { return file.mode & 0o030 == 0o030 }
    return file.mode & 0o003 == 0o003
  }

  func describeFacts(_ path: String) -> String {
    host.stat(path).map(describe) ?? "unreadable"
  }
}
