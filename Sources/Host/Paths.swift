import Foundation
import Spec
import Support

/// Where Caravan keeps user data: `$CARAVAN_HOME`, else `$XDG_DATA_HOME/caravan`,
/// else `~/.local/share/caravan` (the home as `UserHome` finds it).
public enum CaravanPaths {
  public static func home(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let home = environment["CARAVAN_HOME"], !home.isEmpty { return home }
    if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/caravan" }
    return UserHome.resolve(environment: environment).path + "/.local/share/caravan"
  }

  public static func boxes(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    home(environment: environment) + "/boxes"
  }

  /// This user's runtime folder, for SSH control sockets and `ports.lock`:
  /// `$XDG_RUNTIME_DIR/caravan`, or `/tmp/caravan-UID` when that is unset or
  /// too long (unix socket paths are limited to ~107 bytes). Created 0700 if
  /// missing, then checked without following links: a folder that is not a
  /// directory, is owned by another user, or that others may write into is
  /// refused, since whoever controls it can plant the SSH control socket or
  /// hold the ports lock. One this user owns that others may only read (as
  /// older Caravans made it, 0755) is narrowed to 0700.
  public static func runtime(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
    let path: String
    if let dir = environment["XDG_RUNTIME_DIR"], !dir.isEmpty, dir.utf8.count < 40 {
      path = dir + "/caravan"
    } else {
      path = "/tmp/caravan-\(getuid())"
    }
    try ensurePrivateDirectory(path)
    return path
  }

  /// Makes `path` (its parent must exist) a directory of this user with mode
  /// 0700, or refuses it naming its owner and mode.
  static func ensurePrivateDirectory(_ path: String) throws {
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw CaravanError(
        .io, "cannot create the runtime folder '\(path)': \(String(cString: strerror(errno)))",
        hint:
          "Set XDG_RUNTIME_DIR to a folder of yours (mode 0700), or make '\((path as NSString).deletingLastPathComponent)' writable."
      )
    }
    var info = stat()
    guard lstat(path, &info) == 0 else { throw FileSystem.ioError("inspect the runtime folder", path) }
    let kind = info.st_mode & S_IFMT
    let mode = info.st_mode & 0o7777
    let fix =
      "Remove it (`rm -rf \(path)`, as its owner or root) or set XDG_RUNTIME_DIR to a folder of yours (mode 0700)."
    guard kind == S_IFDIR else {
      let what = kind == S_IFLNK ? "a symbolic link" : "not a directory"
      throw CaravanError(
        .conflict, "the runtime folder '\(path)' is \(what) (owner uid \(info.st_uid)); Caravan will not use it",
        hint: fix)
    }
    guard info.st_uid == getuid() else {
      throw CaravanError(
        .conflict,
        "the runtime folder '\(path)' belongs to uid \(info.st_uid), not to you (uid \(getuid())), mode \(octal(mode)); Caravan will not use it",
        hint: fix)
    }
    if mode & 0o022 != 0 {
      throw CaravanError(
        .conflict,
        "the runtime folder '\(path)' has mode \(octal(mode)): other users may write into it; Caravan will not use it",
        hint: fix)
    }
    if mode & 0o7077 != 0 && chmod(path, 0o700) != 0 {
      throw FileSystem.ioError("make the runtime folder private (mode 0700)", path)
    }
  }

  static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }
}

/// The connection URI: the Machinefile's `libvirt { uri }`, `$CARAVAN_LIBVIRT_URI`,
/// `qemu:///system` for root, `qemu:///session` otherwise.
public func defaultLibvirtURI(configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
  -> String
{
  if let configured, !configured.isEmpty { return configured }
  if let fromEnv = environment["CARAVAN_LIBVIRT_URI"], !fromEnv.isEmpty { return fromEnv }
  return getuid() == 0 ? "qemu:///system" : "qemu:///session"
}

extension MachineSpec {
  /// The libvirt connection the machine is on: its own `libvirt { uri }` (or the project's),
  /// else CARAVAN_LIBVIRT_URI, else the user's default.
  public func libvirtURI(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    defaultLibvirtURI(configured: libvirt.uri, environment: environment)
  }
}
