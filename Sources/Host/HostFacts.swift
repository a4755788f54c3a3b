import Foundation
import Support

/// A file's owner, group and mode, as `stat` gives them.
public struct FileFacts: Sendable, Equatable {
  public var uid: UInt32
  public var gid: UInt32
  /// Permission bits only (`0o660`).
  public var mode: UInt32
  public var isCharacterDevice: Bool

  public init(uid: UInt32, gid: UInt32, mode: UInt32, isCharacterDevice: Bool = true) {
    self.uid = uid
    self.gid = gid
    self.mode = mode
    self.isCharacterDevice = isCharacterDevice
  }
}

/// A user account: its id, primary group and every group it is in.
public struct UserFacts: Sendable, Equatable {
  public var name: String
  public var uid: UInt32
  public var groups: [UInt32]

  public init(name: String, uid: UInt32, groups: [UInt32]) {
    self.name = name
    self.uid = uid
    self.groups = groups
  }
}

/// The host facts `doctor` and `up`'s checks read: files, programs, users, free
/// space. `LocalHost` reads this machine; tests give their own.
public protocol HostFacts: Sendable {
  var isRoot: Bool { get }
  /// The user running caravan.
  var currentUser: UserFacts? { get }
  /// That user's home, as Caravan and its session daemon use it (`UserHome.resolve`).
  var home: UserHome { get }
  func exists(_ path: String) -> Bool
  func stat(_ path: String) -> FileFacts?
  func fileSize(_ path: String) -> UInt64?
  /// The file's text, nil when it cannot be read.
  func read(_ path: String) -> String?
  /// The program's path on PATH, nil when it is not there.
  func findProgram(_ name: String) -> String?
  /// Bytes free for an unprivileged user where `path` is (or would be made: its
  /// nearest existing parent), nil when that cannot be told.
  func freeBytes(_ path: String) -> UInt64?
  func user(named name: String) -> UserFacts?
  func userName(_ uid: UInt32) -> String?
  func groupID(named name: String) -> UInt32?
  func groupName(_ gid: UInt32) -> String?
  /// The first line a program prints for `arguments` (its version), nil when it does not run.
  func firstLine(of arguments: [String]) -> String?
}

/// This machine.
public struct LocalHost: HostFacts {
  let environment: [String: String]

  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.environment = environment
  }

  public var isRoot: Bool { getuid() == 0 }

  public var currentUser: UserFacts? {
    userName(getuid()).flatMap { user(named: $0) }
  }

  public var home: UserHome { UserHome.resolve(environment: environment) }

  public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  public func stat(_ path: String) -> FileFacts? {
    guard let info = statPath(path) else { return nil }
    return FileFacts(
      uid: info.st_uid, gid: info.st_gid, mode: info.st_mode & 0o7777,
      isCharacterDevice: info.st_mode & S_IFMT == S_IFCHR)
  }

  public func fileSize(_ path: String) -> UInt64? {
    guard let info = statPath(path) else { return nil }
    // Blocks in use: a sparse image takes what it holds.
    return UInt64(info.st_blocks) * 512
  }

  public func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

  public func findProgram(_ name: String) -> String? { FileSystem.findProgram(name, environment: environment) }

  public func freeBytes(_ path: String) -> UInt64? {
    var current = path.isEmpty ? "/" : path
    while access(current, F_OK) != 0 && current != "/" {
      current = (current as NSString).deletingLastPathComponent
      if current.isEmpty { current = "/" }
    }
    var info = statvfs()
    guard statvfs(current, &info) == 0 else { return nil }
    return UInt64(info.f_bavail) * UInt64(info.f_frsize)
  }

  public func user(named name: String) -> UserFacts? {
    guard let entry = getpwnam(name) else { return nil }
    let uid = entry.pointee.pw_uid
    let primary = entry.pointee.pw_gid
    var count: Int32 = 64
    var groups = [gid_t](repeating: 0, count: Int(count))
    if getgrouplist(name, primary, &groups, &count) < 0 {
      groups = [gid_t](repeating: 0, count: Int(count))
      _ = getgrouplist(name, primary, &groups, &count)
    }
    return UserFacts(name: name, uid: uid, groups: Array(groups.prefix(Int(max(0, count)))))
  }

  public func userName(_ uid: UInt32) -> String? {
    getpwuid(uid).map { String(cString: $0.pointee.pw_name) }
  }

  public func groupID(named name: String) -> UInt32? { getgrnam(name).map { $0.pointee.gr_gid } }

  public func groupName(_ gid: UInt32) -> String? {
    getgrgid(gid).map { String(cString: $0.pointee.gr_name) }
  }

  public func firstLine(of arguments: [String]) -> String? {
    guard let result = try? Subprocess(arguments, timeout: 5).run(), result.status == 0 else { return nil }
    let text = result.stdout.isEmpty ? result.stderr : result.stdout
    return text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
  }
}

/// `stat(2)` of `path` (following links), nil when it fails.
private func statPath(_ path: String) -> stat? {
  var info = stat()
  return stat(path, &info) == 0 ? info : nil
}
