import Foundation
import Support

/// Where a libvirt on this machine keeps the files Caravan points it at: for
/// `qemu:///system` libvirt's folders under /var; for `qemu:///session` the user's
/// session daemon's, under the user's home, found as that daemon (glib) finds them:
/// its cache folder `$XDG_CACHE_HOME/libvirt`, else `HOME/.cache/libvirt`.
///
/// The session daemon makes most of its folders itself but not its QEMU log folder
/// (`…/qemu/log`): a domain whose serial log points there does not start until
/// something makes it. `up`, `build` and `box warm` make `sessionFolders` first.
public struct LibvirtFolders: Sendable, Equatable {
  /// The URI's path is `/session`: a normal user's own daemon.
  public var isSession: Bool
  /// The user's home (see `UserHome`).
  public var home: String
  /// `$XDG_CACHE_HOME`, else `home/.cache`.
  public var cacheHome: String

  public init(uri: String, environment: [String: String], home: String) {
    isSession = LibvirtFolders.isSession(uri)
    self.home = home
    let cache = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
    cacheHome = cache ?? home + "/.cache"
  }

  /// This process's: the home from `UserHome.resolve`.
  public init(uri: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.init(uri: uri, environment: environment, home: UserHome.resolve(environment: environment).path)
  }

  /// `qemu:///session`, `qemu+unix:///session`, `qemu+ssh://host/session`.
  public static func isSession(_ uri: String) -> Bool {
    (try? LibvirtURI(uri))?.path == "/session"
  }

  /// Where libvirt writes each domain's QEMU log (`NAME.log`), and Caravan its serial console log.
  public var qemuLogDirectory: String {
    isSession ? cacheHome + "/libvirt/qemu/log" : "/var/log/libvirt/qemu"
  }

  public func consoleLog(domain: String) -> String { qemuLogDirectory + "/\(domain)-console.log" }

  public func qemuLog(domain: String) -> String { qemuLogDirectory + "/\(domain).log" }

  /// The folder of a new `dir` pool `name`: libvirt's own image folder for the URI.
  public func poolDirectory(_ name: String) -> String {
    isSession ? home + "/.local/share/libvirt/images/\(name)" : "/var/lib/libvirt/images/\(name)"
  }

  /// What a session needs made before a domain starts (the system daemon has its own).
  public var sessionFolders: [String] { isSession ? [qemuLogDirectory] : [] }

  /// Makes `sessionFolders` (mode 0700, as libvirt makes its own), and `pool`'s folder's
  /// parent for a session pool not defined yet; says which folder could not be made.
  public func makeSessionFolders(pool: String? = nil) throws {
    var folders = sessionFolders
    if isSession, let pool { folders.append((poolDirectory(pool) as NSString).deletingLastPathComponent) }
    for folder in folders {
      do {
        try FileManager.default.createDirectory(
          atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      } catch {
        throw CaravanError(
          .io, "cannot make the folder '\(folder)' that libvirt's qemu:///session needs: \(error.localizedDescription)",
          hint:
            "Make it yourself (`mkdir -p \(shellWord(folder))`), or check that HOME (\(home)) is your home and yours to write in; `caravan doctor` shows what the session needs.",
          cause: error)
      }
    }
  }
}

/// The user's home, as Caravan and the session daemon it starts must agree on it:
/// `HOME` when it names a folder this user may write in, else the account's home in
/// the password database (`HOME` missing, or left over from another user, as `sudo`
/// without `-H` or a service manager may leave it).
public struct UserHome: Sendable, Equatable {
  public enum Source: String, Sendable, Equatable {
    case environment = "HOME"
    case passwd = "the password database"
  }
  public var path: String
  public var source: Source
  /// HOME as it was, when it was set and not used.
  public var ignored: String?

  public init(path: String, source: Source, ignored: String? = nil) {
    self.path = path
    self.source = source
    self.ignored = ignored
  }

  /// `usable` says whether HOME's folder may be used (a writable directory);
  /// `passwd` is the account's home.
  public static func resolve(environment: [String: String], usable: (String) -> Bool, passwd: String?) -> UserHome {
    let home = environment["HOME"] ?? ""
    if home.hasPrefix("/"), usable(home) { return UserHome(path: home, source: .environment) }
    guard let passwd, passwd.hasPrefix("/") else {
      return UserHome(path: home.isEmpty ? NSHomeDirectory() : home, source: .environment)
    }
    return UserHome(path: passwd, source: .passwd, ignored: home.isEmpty ? nil : home)
  }

  /// This process's.
  public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> UserHome {
    resolve(
      environment: environment,
      usable: { path in
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && access(path, W_OK) == 0
      },
      passwd: getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) })
  }

  /// Before a session connection: a HOME that is not used is replaced in this
  /// process's environment, so the session daemon libvirt starts for it (which
  /// inherits HOME) puts its files where Caravan looks for them.
  public static func adoptForSession() {
    let home = resolve()
    if home.source == .passwd { setenv("HOME", home.path, 1) }
  }
}
