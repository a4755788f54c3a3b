import Core
import Foundation
import Host
import Support

/// 9p folders are served by QEMU as QEMU's own user, never as root: on the system
/// connection that is `libvirt-qemu` (libvirt's DAC base label), which must reach the
/// host folder. `up` checks that before anything is made.
extension LibvirtHypervisor {
  /// Whether QEMU runs as the caller: a session connection of a user who is not root.
  var qemuIsCaller: Bool { LibvirtFolders.isSession(uri) && getuid() != 0 }

  public func checkSharedFolders(_ folders: [SharedFolder], machine: String) throws {
    let ninep = folders.filter { $0.kind == .ninep }
    guard !ninep.isEmpty, !qemuIsCaller,
      let user = LibvirtHypervisor.qemuUser(capabilities: try connection.capabilities()), user.uid != 0
    else { return }
    let account = getpwuid(user.uid).map { String(cString: $0.pointee.pw_name) }
    let groups = account.map { FolderAccess.groups(of: $0, gid: user.gid) } ?? [user.gid]
    let name = account ?? "uid \(user.uid)"
    for folder in ninep {
      let bits = FolderAccess.problem(path: folder.hostPath, uid: user.uid, groups: groups)
      let exact = FolderAccess.reachable(folder.hostPath, uid: user.uid, gid: user.gid)
      if exact ?? (bits == nil) { continue }
      let problem = bits ?? "it may not read, write and search the folder (an ACL or another rule denies it)"
      throw CaravanError(
        .invalidInput,
        "machine '\(machine)': QEMU runs as '\(name)' (uid \(user.uid)) on \(uri) and could not share the 9p folder '\(folder.hostPath)': \(problem)",
        hint:
          "Let '\(name)' search every folder above it and read and write the folder itself (e.g. `chmod o+x` on the folders above, `setfacl -m u:\(name):rwx,d:u:\(name):rwx` on the folder); or use `type: rsync`, or run Caravan as a normal user on qemu:///session, where QEMU runs as you."
      )
    }
  }

  /// QEMU's user and group on this connection: libvirt's DAC base label (`+UID:+GID`).
  static func qemuUser(capabilities: String) -> (uid: uid_t, gid: gid_t)? {
    guard
      let label = capabilities.range(
        of: #"<baselabel type='(qemu|kvm)'>\+(\d+):\+(\d+)</baselabel>"#, options: .regularExpression)
    else { return nil }
    let numbers = capabilities[label].split(separator: ">")[1].split(separator: "<")[0].split(separator: ":")
    guard numbers.count == 2, let uid = uid_t(numbers[0].dropFirst()), let gid = gid_t(numbers[1].dropFirst()) else {
      return nil
    }
    return (uid, gid)
  }
}

/// What a user may do with a host folder: asked as that user when Caravan is root (ACLs
/// and all), else read from the mode bits of the folder and the folders above.
enum FolderAccess {
  /// Whether `uid` can enter, read and write `path`, asked as that user (`setpriv`, with
  /// its groups); nil when that cannot be asked (Caravan is not root, or no setpriv).
  static func reachable(_ path: String, uid: uid_t, gid: gid_t) -> Bool? {
    guard getuid() == 0 else { return nil }
    let check = #"cd -- "$1" && test -r . && test -w . && test -x ."#
    let result = try? Subprocess(
      ["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "sh", "-c", check, "sh", path]
    ).run()
    return result.map { $0.status == 0 }
  }

  /// The user's groups: its own and the supplementary ones, as libvirt gives QEMU.
  static func groups(of user: String, gid: gid_t) -> [gid_t] {
    var count: Int32 = 64
    var groups = [gid_t](repeating: 0, count: Int(count))
    if getgrouplist(user, gid, &groups, &count) < 0 {
      groups = [gid_t](repeating: 0, count: Int(count))
      guard getgrouplist(user, gid, &groups, &count) >= 0 else { return [gid] }
    }
    return Array(groups.prefix(Int(count)))
  }

  /// Why `uid` (in `groups`) cannot search every folder above `path` and read, write and
  /// search `path`; nil when it can.
  static func problem(path: String, uid: uid_t, groups: [gid_t]) -> String? {
    let parts = path.split(separator: "/")
    var ancestors = ["/"]
    for index in parts.indices.dropLast() { ancestors.append("/" + parts[...index].joined(separator: "/")) }
    for folder in ancestors {
      if let missing = missing(S_IXUSR, at: folder, uid: uid, groups: groups) {
        return "it may not search '\(folder)' (\(missing))"
      }
    }
    if let missing = missing(S_IRUSR | S_IWUSR | S_IXUSR, at: path, uid: uid, groups: groups) {
      return "it may not read, write and search the folder (\(missing))"
    }
    return nil
  }

  /// nil when `uid` has the `owner` bits `wanted` (as owner, group or other) at `path`;
  /// else its mode and owners, as `ls -l` would show them.
  static func missing(_ wanted: mode_t, at path: String, uid: uid_t, groups: [gid_t]) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return "it does not exist" }
    let mode = info.st_mode
    let granted: mode_t =
      info.st_uid == uid ? mode & S_IRWXU : groups.contains(info.st_gid) ? (mode & S_IRWXG) << 3 : (mode & S_IRWXO) << 6
    if granted & wanted == wanted { return nil }
    let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? String(info.st_uid)
    let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? String(info.st_gid)
    return "mode \(String(mode & 0o7777, radix: 8)), owner \(owner):\(group)"
  }
}
