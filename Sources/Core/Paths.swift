import Foundation
import Support

/// Where Caravan keeps user data: `$CARAVAN_HOME`, else `$XDG_DATA_HOME/caravan`,
/// else `~/.local/share/caravan`.
public enum CaravanPaths {
  public static func home(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let home = environment["CARAVAN_HOME"], !home.isEmpty { return home }
    if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/caravan" }
    let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return user + "/.local/share/caravan"
  }

  public static func boxes(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    home(environment: environment) + "/boxes"
  }

  /// A short folder for SSH control sockets (unix socket paths are limited to ~107 bytes).
  public static func runtime(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let dir = environment["XDG_RUNTIME_DIR"], !dir.isEmpty, dir.utf8.count < 40 { return dir + "/caravan" }
    return "/tmp/caravan-\(getuid())"
  }
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
