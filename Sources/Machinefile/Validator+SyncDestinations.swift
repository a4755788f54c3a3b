// `sync` destinations that would take the guest from its user: rsync's `--delete` (run as
// root) empties what the host folder does not have, and a 9p/virtiofs mount hides what
// was there. `/`, the guest's top-level system folders, and the login user's home or a
// folder above it are refused, once the file is read (a machine's `ssh { user }` may
// come after its `sync`).

import Spec

extension Validator {
  /// Top-level folders of a Linux guest that belong to the system.
  static let systemFolders: Set<String> = [
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "lost+found", "proc", "root", "run",
    "sbin", "sys", "tmp", "usr", "var",
  ]

  /// Checks every `sync` destination against the login user of each machine it applies to.
  func checkSyncDestinations() {
    let defaultUser = result.defaults.sshUser ?? SSHSettings().user
    let users = result.machines.isEmpty ? [defaultUser] : result.machines.map { $0.settings.sshUser ?? defaultUser }
    var checks = result.defaults.syncDestinations.map { ($0, users) }
    for machine in result.machines {
      checks += machine.settings.syncDestinations.map { ($0, [machine.settings.sshUser ?? defaultUser]) }
    }
    // One diagnostic per `sync` line, even when it is checked for several machine copies.
    var reported: Set<String> = []
    for (destination, users) in checks {
      let place = "\(destination.location.line):\(destination.location.column)"
      guard !reported.contains(place),
        let problem = users.lazy.compactMap({ Validator.syncDestinationProblem(destination.path, user: $0) }).first
      else { continue }
      reported.insert(place)
      error(problem, at: destination.location, length: destination.length)
    }
  }

  /// Why `path` (absolute) cannot be a `sync` destination of a machine whose login user
  /// is `user`, or nil. `.` and `..` are resolved first, so `/home/x/..` is `/home`.
  static func syncDestinationProblem(_ path: String, user: String) -> String? {
    var parts: [Substring] = []
    for part in path.split(separator: "/") where part != "." {
      if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    let home: [Substring] = user == "root" ? ["root"] : ["home", Substring(user)]
    let homePath = "/" + home.joined(separator: "/")
    let prefix = "the destination of 'sync' \"\(path)\""
    if parts.isEmpty {
      return
        "\(prefix) is the guest's root folder: rsync's --delete would empty the system; sync into a folder of its own such as \"/srv/app\""
    }
    if parts.count <= home.count, Array(home.prefix(parts.count)) == parts {
      let what =
        parts.count == home.count
        ? "is the home of the login user '\(user)'" : "holds the home of the login user '\(user)' (\(homePath))"
      return
        "\(prefix) \(what): rsync's --delete would remove its ~/.ssh/authorized_keys (a mount would hide it) and lock Caravan out; sync into a subfolder such as \"\(homePath)/app\""
    }
    if parts.count == 1, systemFolders.contains(String(parts[0])) {
      return
        "\(prefix) is a system folder of the guest: rsync's --delete would remove what the system keeps there (a mount would hide it); sync into a folder of its own such as \"/srv/app\""
    }
    return nil
  }
}
