import Foundation

/// A normal user made for one test (`useradd -m`, in group kvm as a laptop user is),
/// and `caravan`/`virsh` run as that user on its own `qemu:///session`. `remove()`
/// destroys what the user's session daemons run, stops them (by the pid files they
/// keep in the user's home) and any other process of the user, then `userdel -r`.
struct UserRunner {
  let name: String
  let home: String
  /// CARAVAN_HOME, in the user's home.
  let caravanHome: String
  /// The caravan binary and box file as the user reaches them (copied when the
  /// user cannot read them where they are).
  let binary: String
  let boxFile: String

  init(binary source: String, boxFile box: String) throws {
    name = "caravan-e2e-\(getpid())"
    _ = try? UserRunner.root(["userdel", "-r", name])
    let made = try UserRunner.root(["useradd", "-m", "-s", "/bin/sh", "-G", "kvm", name])
    guard made.status == 0 else { throw RunnerError(what: "useradd \(name)", output: made) }
    let entry = try UserRunner.root(["getent", "passwd", name]).stdout.split(
      separator: ":", omittingEmptySubsequences: false)
    home = entry.count > 5 ? String(entry[5]) : "/home/\(name)"
    caravanHome = home + "/caravan-home"
    binary = try UserRunner.reachable(source, as: "caravan", user: name, home: home)
    boxFile = try UserRunner.reachable(box, as: "test.box", user: name, home: home)
  }

  struct RunnerError: Error, CustomStringConvertible {
    var what: String
    var output: Harness.Output
    var description: String { "\(what): \(output)" }
  }

  /// `path` if the user can read it where it is, else a copy in the user's home.
  private static func reachable(_ path: String, as copy: String, user: String, home: String) throws -> String {
    let resolved = (path as NSString).resolvingSymlinksInPath
    if try root(["runuser", "-u", user, "--", "test", "-r", resolved]).status == 0 { return resolved }
    let target = home + "/" + copy
    try FileManager.default.copyItem(atPath: resolved, toPath: target)
    try root(["chown", "\(user):\(user)", target])
    return target
  }

  /// The environment a fresh login gives: HOME, USER, PATH, nothing of root's
  /// (no XDG_RUNTIME_DIR, no CARAVAN_LIBVIRT_URI: the default URI is the session's).
  func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
      "HOME": home, "USER": name, "LOGNAME": name, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
      "LANG": "C.UTF-8", "CARAVAN_HOME": caravanHome, "CARAVAN_NAT_RESTRICT": "1", "no_proxy": "127.0.0.1,localhost",
    ]
    for (key, value) in extra { environment[key] = value }
    return environment
  }

  /// Runs `args` as the user in `directory`, with `environment()` only.
  func asUser(_ args: [String], in directory: String, environment extra: [String: String] = [:]) throws
    -> Harness.Output
  {
    let pairs = environment(extra).map { "\($0.key)=\($0.value)" }.sorted()
    return try Harness.exec(
      ["runuser", "-u", name, "--", "env", "-i"] + pairs + args, in: directory,
      environment: ProcessInfo.processInfo.environment)
  }

  func caravan(_ args: String..., in directory: String, environment: [String: String] = [:]) throws
    -> Harness.Output
  {
    try asUser([binary] + args, in: directory, environment: environment)
  }

  /// `virsh -c qemu:///session` as the user.
  func virsh(_ args: String...) throws -> Harness.Output {
    try asUser(["virsh", "-c", "qemu:///session"] + args, in: "/")
  }

  /// Writes `text` to `relative` in the user's home, owned by the user.
  func write(_ text: String, to relative: String) throws {
    let path = home + "/" + relative
    var folder = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    while folder.count > home.count {
      try chown(folder)
      folder = (folder as NSString).deletingLastPathComponent
    }
    try chown(path)
  }

  func chown(_ path: String) throws {
    _ = try UserRunner.root(["chown", "\(name):\(name)", path])
  }

  /// The pids in the pid files the user's session daemons keep (libvirtd, virtlogd,
  /// virtqemud…), under ~/.cache/libvirt, and every other process the user has.
  func processes() -> [Int32] {
    var pids = Set<Int32>()
    let cache = home + "/.cache/libvirt"
    let files = (FileManager.default.enumerator(atPath: cache)?.allObjects as? [String]) ?? []
    for file in files where file.hasSuffix(".pid") && !file.contains("/") {
      if let text = try? String(contentsOfFile: cache + "/" + file, encoding: .utf8),
        let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
      {
        pids.insert(pid)
      }
    }
    let listed = (try? UserRunner.root(["pgrep", "-u", name]))?.stdout ?? ""
    for line in listed.split(separator: "\n") { if let pid = Int32(line) { pids.insert(pid) } }
    return pids.sorted().filter { kill($0, 0) == 0 }
  }

  /// Everything the user made, gone: domains destroyed and undefined, the session
  /// daemons and other processes of the user stopped (each by its pid), the account
  /// and its home removed.
  func remove() {
    let domains = (try? virsh("list", "--all", "--name"))?.stdout.split(separator: "\n") ?? []
    for domain in domains where !domain.isEmpty {
      _ = try? virsh("destroy", String(domain))
      _ = try? virsh("undefine", String(domain), "--managed-save", "--snapshots-metadata", "--nvram", "--tpm")
    }
    for signal in [SIGTERM, SIGKILL] {
      for pid in processes() { kill(pid, signal) }
      let deadline = Date().addingTimeInterval(10)
      while !processes().isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
    }
    _ = try? UserRunner.root(["userdel", "-r", name])
  }

  @discardableResult
  static func root(_ args: [String]) throws -> Harness.Output {
    try Harness.exec(args, in: "/", environment: ProcessInfo.processInfo.environment)
  }
}
