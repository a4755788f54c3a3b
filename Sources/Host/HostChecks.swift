import Foundation
import Support

/// The checks that need no libvirt, only this host's files, programs and users:
/// `doctor` runs them all, `up` the cheap ones (`Lifecycle.preflight`).
public struct HostChecks {
  public var uri: String
  public var home: String
  public var environment: [String: String]
  public var host: HostFacts

  public init(uri: String, home: String, environment: [String: String], host: HostFacts) {
    self.uri = uri
    self.home = home
    self.environment = environment
    self.host = host
  }

  static let kvmPath = "/dev/kvm"
  static let qemuConf = "/etc/libvirt/qemu.conf"

  /// Who runs QEMU for this URI, as libvirt checks /dev/kvm for it: the user
  /// itself for `qemu:///session`, else qemu.conf's `user` and `group` (Debian's
  /// default: libvirt-qemu), with every group that user is in.
  struct QEMURunner {
    var description: String
    var user: UserFacts
  }

  func qemuRunner() -> QEMURunner? {
    if uri.hasSuffix("/session") {
      guard let me = host.currentUser else { return nil }
      return QEMURunner(description: "you (\(me.name)), who run QEMU for qemu:///session,", user: me)
    }
    let conf = host.read(HostChecks.qemuConf) ?? ""
    let name = HostChecks.setting("user", in: conf) ?? "libvirt-qemu"
    let group = HostChecks.setting("group", in: conf)
    if name == "root" || name == "+0" {
      return QEMURunner(description: "root, libvirt's QEMU user,", user: UserFacts(name: "root", uid: 0, groups: [0]))
    }
    guard var user = host.user(named: name) else { return nil }
    if let group, let gid = host.groupID(named: group) { user.groups.append(gid) }
    return QEMURunner(description: "libvirt's QEMU user \(name)", user: user)
  }

  /// `name = "value"` in a libvirt configuration file, on a line of its own (not
  /// commented out). `up` reads qemu.conf (about 1,000 lines, nearly all comments):
  /// only the lines that start with the name are looked at, found with `strstr`.
  static func setting(_ name: String, in text: String) -> String? {
    ("\n" + text).withCString { base -> String? in
      var cursor = base
      while let hit = strstr(cursor, "\n" + name) {
        cursor = UnsafePointer(hit + 1)
        let end = strchr(cursor, 10).map { UnsafePointer($0) } ?? cursor + strlen(cursor)
        let line = String(decoding: UnsafeRawBufferPointer(start: cursor, count: end - cursor), as: UTF8.self)
        let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0] == name else { continue }
        return parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
      }
      return nil
    }
  }

  /// Whether `user` may read and write a file with these facts (as libvirt's
  /// `virFileAccessibleAs` finds it).
  static func canOpen(_ file: FileFacts, as user: UserFacts) -> Bool {
    if user.uid == 0 { return true }
    if file.uid == user.uid { return file.mode & 0o600 == 0o600 }
    if user.groups.contains(file.gid) { return file.mode & 0o060 == 0o060 }
    return file.mode & 0o006 == 0o006
  }

  /// `root:kvm 0660`.
  func describe(_ file: FileFacts) -> String {
    let owner = host.userName(file.uid) ?? String(file.uid)
    let group = host.groupName(file.gid) ?? String(file.gid)
    return "\(owner):\(group) 0" + String(file.mode, radix: 8)
  }

  /// /dev/kvm's owner and mode: when libvirt's QEMU user cannot open it, libvirt
  /// finds KVM "not usable" on every lookup and probes QEMU again (measured: ~4 s
  /// a probe, ~48 s per define), which is what a /dev/kvm left root:root 0600
  /// (no udev: containers, some CI hosts) does.
  public func kvmDevice() -> HealthCheck {
    let id = "kvm_device"
    guard let file = host.stat(HostChecks.kvmPath) else {
      return HealthCheck(id, .skipped, "there is no \(HostChecks.kvmPath) (see the kvm check)")
    }
    guard let runner = qemuRunner() else {
      return HealthCheck(
        id, .skipped,
        "\(HostChecks.kvmPath) is \(describe(file)); libvirt's QEMU user (qemu.conf's `user`, else libvirt-qemu) is not an account here, so who opens it is unknown"
      )
    }
    if HostChecks.canOpen(file, as: runner.user) {
      return HealthCheck(id, .ok, "\(HostChecks.kvmPath) is \(describe(file)): \(runner.description) can open it")
    }
    let name = runner.user.name
    let summary =
      "\(HostChecks.kvmPath) is \(describe(file)) and \(runner.description) cannot open it: libvirt then finds KVM unusable on every lookup and probes QEMU again (about 4 s each), so every domain define (each machine's `caravan up`) takes about 48 s"
    // Already as udev leaves it (root:kvm 0660): only the group membership is missing.
    if host.groupName(file.gid) == "kvm" && file.mode & 0o060 == 0o060 {
      return HealthCheck(
        id, .warning, summary,
        fix:
          "As root: `adduser \(name) kvm` (\(name)'s sessions see the group after logging in again)."
      )
    }
    let addToGroup = runner.user.uid == 0 ? "" : " and make sure \(name) is in group kvm (`adduser \(name) kvm`)"
    return HealthCheck(
      id, .warning, summary,
      fix:
        "As root: `chown root:kvm /dev/kvm; chmod 0660 /dev/kvm`\(addToGroup). udev does this at boot (`KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"`, e.g. in /etc/udev/rules.d/65-kvm.rules); hosts without udev (containers, some CI machines) need it after each boot."
    )
  }

  /// The OpenSSH client: `up`, `ssh`, `provision` and the rest reach guests with it.
  /// `withVersion` also runs `ssh -V` (for `doctor`; `up` only looks on PATH).
  public func sshClient(withVersion: Bool) -> HealthCheck {
    let id = "ssh"
    let programs = ["ssh", "ssh-keygen"]
    let found = programs.map { ($0, host.findProgram($0)) }
    let missing = found.filter { $0.1 == nil }.map(\.0)
    guard missing.isEmpty else {
      return HealthCheck(
        id, .error,
        "the OpenSSH client is missing: \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not on PATH (\(environment["PATH"] ?? "unset")); `up`, `ssh` and provisioning reach guests with it",
        fix: "Install it: `apt-get install openssh-client` (Debian package openssh-client).")
    }
    let paths = found.compactMap(\.1)
    let version = withVersion ? host.firstLine(of: [paths[0], "-V"]).map { " (\($0))" } ?? "" : ""
    return HealthCheck(id, .ok, "OpenSSH client: \(paths.joined(separator: ", "))\(version)")
  }

  /// Free space in CARAVAN_HOME (boxes, keys, locks).
  public func homeDisk(errorBelow: UInt64, warningBelow: UInt64) -> HealthCheck {
    let id = "disk_home"
    let fix =
      "Free space there (`caravan box prune` removes all but the newest version of each box; `caravan box list` shows them), or set CARAVAN_HOME to a folder on a larger file system."
    guard let free = host.freeBytes(home) else {
      return HealthCheck(id, .warning, "cannot tell how much space is free in CARAVAN_HOME (\(home))", fix: fix)
    }
    let status: HealthCheck.Status = free < errorBelow ? .error : free < warningBelow ? .warning : .ok
    let limits = "error below \(ByteSize.text(errorBelow)), warning below \(ByteSize.text(warningBelow))"
    return HealthCheck(
      id, status, "CARAVAN_HOME (\(home)) has \(ByteSize.text(free)) free (\(limits))",
      fix: status == .ok ? nil : fix)
  }

  /// Where Debian and Fedora put virtiofsd, off PATH.
  public static let virtiofsdPlaces = ["/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"]

  /// Where a virtiofsd is looked for (as `sync …, type: virtiofs` does):
  /// CARAVAN_VIRTIOFSD, PATH, then `virtiofsdPlaces`.
  func virtiofsd() -> String? {
    if let configured = environment["CARAVAN_VIRTIOFSD"], !configured.isEmpty {
      return host.findProgram(configured)
    }
    return host.findProgram("virtiofsd") ?? HostChecks.virtiofsdPlaces.first { host.findProgram($0) != nil }
  }

  /// A normal user's `qemu:///session`. As root: whether what it needs is installed
  /// (it cannot be tried for another user from here); as a normal user, `tried`
  /// is the outcome of connecting to it.
  public func session(tried: Result<Void, Error>?) -> HealthCheck {
    let id = "session"
    let daemons = ["/usr/sbin/virtqemud", "/usr/sbin/libvirtd"]
    guard host.isRoot else {
      guard let tried else { return HealthCheck(id, .skipped, "qemu:///session was not tried") }
      switch tried {
      case .success: return HealthCheck(id, .ok, "qemu:///session answers for you")
      case .failure(let error):
        let caravan = error as? CaravanError
        return HealthCheck(
          id, uri == "qemu:///session" ? .error : .warning,
          caravan?.message ?? "cannot connect to qemu:///session: \(error)",
          fix: caravan?.hint
            ?? "libvirt starts the session daemon by itself; install it (Debian package libvirt-daemon) and check `virsh -c qemu:///session list`."
        )
      }
    }
    guard let daemon = daemons.first(where: host.exists) else {
      return HealthCheck(
        id, .warning,
        "a normal user's qemu:///session needs libvirt's session daemon, and neither \(daemons.joined(separator: " nor ")) is here",
        fix: "Install the Debian package libvirt-daemon (the QEMU driver: libvirt-daemon-driver-qemu).")
    }
    let group = host.stat(HostChecks.kvmPath).map { host.groupName($0.gid) ?? String($0.gid) } ?? "kvm"
    return HealthCheck(
      id, .ok,
      "you are root (qemu:///system); a normal user's qemu:///session needs no root: libvirt starts its session daemon (\(daemon)) on demand, with the pool in ~/.local/share/libvirt/images, and KVM for that user needs membership of group \(group)"
    )
  }

  /// UEFI and TPM, for `libvirt { firmware uefi; secure_boot true; tpm true }`: OVMF's
  /// firmware descriptors (libvirt chooses the files by them) and its Secure Boot
  /// variant, and swtpm with swtpm_setup (libvirt starts one per machine). Warnings:
  /// only machines that ask for them need them.
  public func firmwareAndTPM() -> [HealthCheck] {
    let descriptors = ["/usr/share/qemu/firmware", "/etc/qemu/firmware"]
    let ovmf = "/usr/share/OVMF/OVMF_CODE_4M.fd"
    let secure = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
    var checks: [HealthCheck] = []
    if host.exists(ovmf), descriptors.contains(where: host.exists) {
      let withSecure = host.exists(secure) ? ", with Secure Boot (\(secure))" : ", without its Secure Boot variant"
      checks.append(HealthCheck("ovmf", .ok, "UEFI firmware at \(ovmf)\(withSecure), for `libvirt { firmware uefi }`"))
    } else {
      checks.append(
        HealthCheck(
          "ovmf", .warning,
          "no UEFI firmware (\(ovmf) and its descriptors in /usr/share/qemu/firmware): machines with `libvirt { firmware uefi }` or `secure_boot true`, and UEFI images, cannot start",
          fix: "Install the Debian package ovmf, if you use UEFI machines."))
    }
    if let swtpm = host.findProgram("swtpm"), host.findProgram("swtpm_setup") != nil {
      checks.append(HealthCheck("swtpm", .ok, "swtpm at \(swtpm), for `libvirt { tpm true }`"))
    } else {
      checks.append(
        HealthCheck(
          "swtpm", .warning, "swtpm or swtpm_setup is not on PATH: machines with `libvirt { tpm true }` cannot start",
          fix: "Install the Debian packages swtpm and swtpm-tools, if you use `tpm true`."))
    }
    return checks
  }

  /// The host tools of optional features: a warning for each one missing.
  public func optionalTools() -> [HealthCheck] {
    let tools: [(id: String, program: String, feature: String, package: String)] = [
      ("mmdebstrap", "mmdebstrap", "`caravan build` with the rootfs strategy", "mmdebstrap"),
      ("ansible", "ansible-playbook", "`provision ansible`", "ansible-core (or ansible)"),
      ("rsync", "rsync", "`sync …, type: rsync` and `caravan rsync`", "rsync"),
    ]
    return tools.map { tool in
      if let path = host.findProgram(tool.program) {
        return HealthCheck(tool.id, .ok, "\(tool.program) at \(path), for \(tool.feature)")
      }
      return HealthCheck(
        tool.id, .warning, "\(tool.program) is not on PATH: \(tool.feature) needs it",
        fix: "Install the Debian package \(tool.package), if you use \(tool.feature).")
    }
  }
}
