import Boxes
import Foundation
import Spec
import Support

/// Warm starts (`up --warm`, `libvirt { warm true }`, `box warm`): a new machine
/// starts from its box's saved running state instead of booting, then gets an
/// identity of its own. Anything that stops a warm start falls back to a cold
/// boot, says why, and leaves nothing of the attempt behind.
extension Lifecycle {
  /// Warm-state guests are named `caravan.warm-HASH`: a dot, which no machine's domain has.
  static let warmTemplatePrefix = "caravan.warm-"

  static func warmTemplateName(uri: String, pool: String, box: InstalledBox) -> String {
    warmTemplatePrefix + StableHash.hex(uri + " " + pool + " " + box.volumeName, length: 8)
  }

  /// Why `machine` cannot start warm here; nil when it can.
  func warmObstacle(_ machine: MachineSpec, box: InstalledBox) -> String? {
    if let remote = try? LibvirtURI(hypervisor.uri), !remote.isLocal {
      return "its libvirt is on another host (\(hypervisor.uri)), and the saved state is copied by path on this one"
    }
    if let shared = syncedFolders(machine, kinds: [.ninep, .virtiofs]).first {
      return
        "it shares '\(shared.source)' over \(shared.kind.rawValue), a device the saved guest does not have (rsync folders can start warm)"
    }
    if box.metadata.disks.count > 1 {
      return "its box has \(box.metadata.disks.count) disks, and a saved state holds one"
    }
    return nil
  }

  /// The box's saved state, ready for the machine of `plan`: the one on record
  /// when it fits, else one made now (one boot), saying why.
  /// A state that is there but damaged (its record unreadable, its volume cut
  /// short) is removed; `remakeDamaged` false: then this throws `WarmStateDamaged`.
  func readyWarmState(_ machine: MachineSpec, plan: MachinePlan, remakeDamaged: Bool = false) throws -> (
    state: WarmState, made: Bool
  ) {
    let box = plan.box
    let pool = hypervisor.effectivePool(plan.pool)
    let wanted = try hypervisor.warmFingerprint(for: plan)
    // One maker per box and pool (the name its template gets); the others wait here and use what it made.
    let lock = try FileLock(
      path: CaravanPaths.home(environment: environment)
        + "/locks/\(Lifecycle.warmTemplateName(uri: hypervisor.uri, pool: pool, box: box)).lock")
    defer { lock.unlock() }
    let wording = "box '\(box.name)' (\(box.version))"
    var why = "\(wording) has no saved state in pool '\(pool)' yet"
    let known: WarmState?
    var damage: String?
    do {
      known = try WarmStateFiles.read(box, uri: hypervisor.uri, pool: pool)
    } catch {
      known = nil
      damage = Lifecycle.oneLine(error)
    }
    let mismatch = known.flatMap { $0.fingerprint.mismatch(wanted) }
    // Its size on disk now: nil when its volume is gone, short when the file was cut.
    let size = try known.flatMap { try hypervisor.warmStateSize($0) }
    if let known, mismatch == nil, let size, size < known.sizeBytes / 10 * 9 {
      damage = "its volume '\(known.volume)' holds \(size >> 20) MiB of the \(known.sizeBytes >> 20) MiB saved"
    }
    if let damage {
      try discardWarmState(box, uri: hypervisor.uri, pool: pool)
      guard remakeDamaged else {
        throw WarmStateDamaged(message: "the saved state of \(wording) is damaged: \(damage)")
      }
      why = "the saved state of \(wording) was damaged (\(damage)) and is removed"
    } else if let known {
      if let mismatch {
        why = "the saved state of \(wording) does not fit this machine (\(mismatch))"
      } else if known.guestSSHPort != machine.ssh.port {
        why =
          "the saved state of \(wording) waited for SSH on guest port \(known.guestSSHPort), this machine uses \(machine.ssh.port)"
      } else if size != nil {
        return (known, false)
      } else {
        why = "the saved state of \(wording) lost its volume '\(known.volume)' in pool '\(pool)'"
      }
    }
    reporter.step(machine.name, "\(why); making it now (one boot; later warm starts restore it)")
    return (try makeWarmState(plan, fingerprint: wanted, machine: machine), true)
  }

  /// Boots the box once on a throw-away overlay, takes its disk and memory as
  /// soon as its SSH answers, and records the state. A failure removes all of it.
  func makeWarmState(_ plan: MachinePlan, fingerprint: WarmFingerprint, machine: MachineSpec) throws -> WarmState {
    let box = plan.box
    let pool = hypervisor.effectivePool(plan.pool)
    var template = plan
    template.domainName = Lifecycle.warmTemplateName(uri: hypervisor.uri, pool: pool, box: box)
    // The project's: its `destroy` removes a template that a killed `up` left running.
    template.projectRoot = project.root
    template.machineName = "warm-state"
    template.sharedFolders = []
    template.attachments = []
    // The one there goes (a template left by a killed `up` or `box warm` too).
    try discardWarmState(box, uri: hypervisor.uri, pool: pool)
    do {
      let started = Date()
      let port = try startTemplate(&template, guestPort: machine.ssh.port, as: machine.name)
      while !sshAnswers(port) {
        let status = try hypervisor.status(domain: template.domainName)
        if status != .running {
          throw CaravanError(
            .hypervisor, "the warm-state guest of \(box.name) stopped while booting (libvirt says \(status))",
            hint: "Its serial console log is \(hypervisor.consoleLogPath(domain: template.domainName)).")
        }
        let elapsed = Date().timeIntervalSince(started)
        if elapsed >= machine.bootTimeoutSeconds {
          throw CaravanError(
            .timeout,
            "the warm-state guest of \(box.name) did not answer SSH on 127.0.0.1:\(port) within \(Int(machine.bootTimeoutSeconds)) s"
          )
        }
        reporter.progress(
          machine.name, "waiting for the warm-state guest's SSH on 127.0.0.1:\(port) (\(Int(elapsed)) s)")
        try interrupt.sleep(0.3)
      }
      reporter.step(
        machine.name, "the warm-state guest answered SSH after \(Int(Date().timeIntervalSince(started))) s; saving it")
      let captured = try track(machine.name, "save_warm_state", detail: box.name) {
        try hypervisor.captureWarmState(template: template)
      }
      let state = WarmState(
        uri: hypervisor.uri, pool: captured.pool, volume: captured.volume, fingerprint: fingerprint,
        sizeBytes: captured.sizeBytes, guestSSHPort: machine.ssh.port)
      try WarmStateFiles.write(state, for: box)
      reporter.step(
        machine.name,
        "saved the warm state of box '\(box.name)' (\(box.version)): \(captured.sizeBytes >> 20) MiB in pool '\(captured.pool)', for \(plan.cpus) CPU and \(plan.memoryMiB) MiB"
      )
      return state
    } catch {
      try? discardWarmState(box, uri: hypervisor.uri, pool: pool)
      throw error
    }
  }

  /// Removes the box's warm state in `pool` of `uri`: its record first (a state
  /// without it is never used), then its template domain, if any, and its volume.
  func discardWarmState(_ box: InstalledBox, uri: String, pool: String) throws {
    WarmStateFiles.remove(box, uri: uri, pool: pool)
    try hypervisor.removeWarmState(
      box: box, pool: pool, template: Lifecycle.warmTemplateName(uri: uri, pool: pool, box: box))
  }

  /// Chooses the template's SSH port and starts it, under the ports lock every
  /// `up` takes, so no other machine gets that port. Returns the port.
  private func startTemplate(_ template: inout MachinePlan, guestPort: Int, as name: String) throws -> Int {
    let portLock = try FileLock(path: CaravanPaths.runtime(environment: environment) + "/ports.lock")
    defer { portLock.unlock() }
    var allocator = try portAllocator(for: template.domainName)
    let port = try allocator.allocate(
      .tcp, hostIP: "127.0.0.1", wanted: 2222, autoCorrect: true, what: "SSH of the warm-state guest")
    template.forwards = [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: port, guest: guestPort)]
    reporter.step(name, "booting box '\(template.box.name)' once to save its state (SSH on 127.0.0.1:\(port))")
    try track(name, "warm_template", detail: template.domainName) {
      try hypervisor.startWarmTemplate(template) { reporter.step(name, $0) }
    }
    return port
  }

  /// Whether a machine being created starts warm, and from which state; nil
  /// (having said why) when it boots cold.
  func warmStateForNewMachine(_ machine: MachineSpec, plan: MachinePlan) throws -> WarmState? {
    if let obstacle = warmObstacle(machine, box: plan.box) {
      reporter.step(machine.name, "not starting warm, a cold boot instead: \(obstacle)")
      return nil
    }
    do {
      return try readyWarmState(machine, plan: plan).state
    } catch let damaged as WarmStateDamaged {
      reporter.warning(
        "machine '\(machine.name)': \(damaged.message); it was removed. Falling back to a cold boot; the next warm `up` makes it anew."
      )
      return nil
    } catch {
      // Stopped: no cold boot instead (what the attempt made is already removed).
      if interrupt.requested { throw error }
      reporter.warning(
        "machine '\(machine.name)': could not make the warm state (\(Lifecycle.oneLine(error))); falling back to a cold boot"
      )
      return nil
    }
  }

  /// Defines the machine on a copy of the state and starts it from the saved
  /// memory; the record it saves asks for the identity refresh.
  func startWarmMachine(
    _ machine: MachineSpec, plan: MachinePlan, state: WarmState, forwards: [ResolvedForward]
  ) throws -> MachineRecord {
    let name = machine.name
    let started = Date()
    reporter.step(
      name,
      "creating domain '\(plan.domainName)' from the warm state of box '\(plan.box.name)' (\(plan.box.version)), \(plan.cpus) CPU, \(plan.memoryMiB) MiB"
    )
    let uuid = try track(name, "define_warm", detail: plan.domainName) { try hypervisor.defineWarm(plan, from: state) }
    var record = MachineRecord(
      domainName: plan.domainName, domainUUID: uuid, libvirtURI: hypervisor.uri, boxName: plan.box.name,
      boxVersion: plan.box.version, sshPort: forwards[0].host, forwards: forwards.map(\.description),
      accelerator: plan.accelerator.rawValue)
    record.identityPending = true
    try saveProgress(record, for: name)
    reportForwards(name, forwards)
    try track(name, "restore", detail: plan.domainName) { try hypervisor.startWarm(plan) }
    reporter.step(
      name, "restored from the warm state in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    return record
  }

  /// After a warm start failed: removes the machine it made and the state that
  /// failed (the next warm `up` makes it anew), and says so.
  func abandonWarmStart(_ machine: MachineSpec, plan: MachinePlan, state: WarmState, error: Error) {
    let box = plan.box
    try? hypervisor.remove(domain: plan.domainName, keepLogs: false)
    try? project.removeMachineState(machine.name)
    try? discardWarmState(box, uri: state.uri, pool: state.pool)
    reporter.warning(
      "machine '\(machine.name)': the warm start failed (\(Lifecycle.oneLine(error))); falling back to a cold boot. The saved state of box '\(box.name)' was removed; the next warm `up` makes it anew."
    )
  }

  static func oneLine(_ error: Error) -> String {
    let text = (error as? CaravanError)?.message ?? "\(error)"
    return text.split(separator: "\n").map(String.init).joined(separator: " ")
  }

  // MARK: The restored guest's identity

  /// Gives a restored guest what a booted one would have of its own: a new
  /// machine-id, new SSH host keys (made here, where randomness is not a copy),
  /// the host's time, fresh randomness in its kernel's pool, and a renewed DHCP
  /// lease. The shared connection goes on; every new one meets the new host key.
  func refreshIdentity(
    _ machine: MachineSpec, record: MachineRecord, communicator: Communicator, hostKeys: HostKeyBatch
  ) throws {
    reporter.step(machine.name, "giving the restored guest its own machine-id, SSH host keys, clock and random seed")
    // A restore cut short (a killed `up`) may have left the snapshot it started from.
    if try hypervisor.snapshots(domain: record.domainName).contains(where: { $0.name == WarmState.snapshotName }) {
      try hypervisor.deleteSnapshot(domain: record.domainName, name: WarmState.snapshotName)
    }
    let keys = try hostKeys.wait()
    var seed = [UInt8](repeating: 0, count: 512)
    for index in seed.indices { seed[index] = UInt8.random(in: 0...255) }
    let machineID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    let script = Lifecycle.identityScript(
      epoch: Date().timeIntervalSince1970, machineID: machineID, seed: Data(seed), hostKeys: keys)
    var output = ""
    let status = try communicator.execute("sudo sh -s", input: Data(script.utf8)) { _, line in output += line + "\n" }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "giving the restored guest its own identity failed (exit status \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))",
        hint: "`caravan destroy -f \(machine.name)` and a cold `caravan up` (without --warm) make it anew.")
    }
  }

  /// The shell script (run as root) behind `refreshIdentity`. A process start
  /// costs about 0.1 s in a TCG guest, so it forks as little as it can: files
  /// are written by the shell's own `printf`, and only `date`, `perl` (the
  /// reseed) and `networkctl` run as programs.
  static func identityScript(
    epoch: Double, machineID: String, seed: Data, hostKeys: [(type: String, privateKey: Data, publicKey: Data)]
  ) -> String {
    func octal(_ data: Data) -> String { data.map { "\\" + String($0, radix: 8) }.joined() }
    func text(_ data: Data) -> String {
      String(decoding: data, as: UTF8.self).replacingOccurrences(of: "'", with: "'\\''")
    }
    var lines = [
      "set -e",
      // The clock: the saved guest's stopped when its state was taken.
      "date -u -s @\(String(format: "%.3f", epoch)) >/dev/null || true",
      // Randomness: the host's bytes into the pool, then a reseed (RNDRESEEDCRNG),
      // so nothing the guest draws from now on repeats another copy's.
      "printf '\(octal(seed.prefix(64)))' > /dev/urandom",
      "if command -v perl >/dev/null 2>&1; then perl -e 'open(my $f, \"<\", \"/dev/urandom\") or exit 0; ioctl($f, 0x5207, 0);' || true; fi",
      "if [ -f /var/lib/systemd/random-seed ]; then printf '\(octal(seed.suffix(from: seed.startIndex + min(64, seed.count))))' > /var/lib/systemd/random-seed; fi",
      // The machine-id (systemd derived the template's from its UUID); a transient one is a mount.
      "while read -r _ target _; do if [ \"$target\" = /etc/machine-id ]; then umount /etc/machine-id || true; fi; done < /proc/self/mounts",
      "printf '%s\\n' '\(machineID)' > /etc/machine-id",
      "if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then printf '%s\\n' '\(machineID)' > /var/lib/dbus/machine-id; fi",
    ]
    // SSH host keys: each type the guest has is replaced by a new one.
    for key in hostKeys {
      let path = "/etc/ssh/ssh_host_\(key.type)_key"
      lines.append(
        "if [ -f \(path) ]; then umask 077; printf '%s' '\(text(key.privateKey))' > \(path); umask 022; printf '%s' '\(text(key.publicKey))' > \(path).pub; fi"
      )
    }
    lines += [
      "if command -v restorecon >/dev/null 2>&1; then restorecon /etc/machine-id /etc/ssh/ssh_host_* || true; fi",
      // sshd re-reads its keys; the sessions it has (this one) go on.
      "if [ -f /run/sshd.pid ]; then read -r pid < /run/sshd.pid && kill -HUP \"$pid\" || true;",
      "elif command -v systemctl >/dev/null 2>&1; then systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null || true; fi",
      // DHCP: the lease was the template's.
      "if [ -e /run/systemd/netif/state ] && command -v networkctl >/dev/null 2>&1; then",
      "  for link in /sys/class/net/*; do link=${link##*/}; [ \"$link\" = lo ] || networkctl renew \"$link\" >/dev/null 2>&1 || true; done",
      "elif [ -d /run/NetworkManager ] && command -v nmcli >/dev/null 2>&1; then",
      "  nmcli -t -f DEVICE,TYPE device | while IFS=: read -r dev type; do [ \"$type\" = ethernet ] && nmcli device reapply \"$dev\" >/dev/null 2>&1 || true; done",
      "fi",
      // On the disk before anything else happens: a guest powered off by hand right
      // after `up` must not come back with the template's identity.
      "sync",
    ]
    return lines.joined(separator: "\n") + "\n"
  }
}

/// New SSH host keys for a restored guest, made on this host (where randomness is
/// not a copy of the template's) on a thread of their own while the guest is
/// restored: an RSA key takes about a second.
final class HostKeyBatch: @unchecked Sendable {
  typealias Key = (type: String, privateKey: Data, publicKey: Data)
  private let done = DispatchSemaphore(value: 0)
  private var result: Result<[Key], Error> = .success([])

  init(_ communicators: CommunicatorFactory) {
    let factory = UncheckedBox(communicators)
    Thread.detachNewThread { [self] in
      result = Result { try HostKeyBatch.make(factory.value) }
      done.signal()
    }
  }

  func wait() throws -> [Key] {
    done.wait()
    done.signal()
    return try result.get()
  }

  static func make(_ communicators: CommunicatorFactory) throws -> [Key] {
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "caravan-hostkeys")
    defer { try? FileSystem.removeTree(scratch) }
    return try ["rsa", "ecdsa", "ed25519"].map { type in
      let path = scratch + "/ssh_host_\(type)_key"
      try communicators.generateHostKey(type: type, at: path)
      guard let privateKey = FileManager.default.contents(atPath: path),
        let publicKey = FileManager.default.contents(atPath: path + ".pub")
      else { throw FileSystem.ioError("read the new host key", path) }
      return (type, privateKey, publicKey)
    }
  }
}

private struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

extension Lifecycle {
  /// `caravan box warm`: makes the box's saved state for `machine`'s CPUs,
  /// memory and libvirt settings, unless the one on record fits; returns it.
  public func warmBox(_ box: InstalledBox, machine: MachineSpec) throws -> (state: WarmState, made: Bool) {
    try preflight()
    if let obstacle = warmObstacle(machine, box: box) {
      throw CaravanError(
        .invalidInput, "box '\(box.name)' (\(box.version)) cannot have a warm state here: \(obstacle)")
    }
    let choice = try hypervisor.chooseAccelerator(machine.libvirt.accel)
    reporter.step(machine.name, "accelerator: \(choice.accelerator.rawValue) (\(choice.reason))")
    try hypervisor.importBox(box, pool: machine.libvirt.pool) { reporter.step(machine.name, $0) }
    let plan = try machinePlan(machine, box: box, accelerator: choice.accelerator, forwards: [], interfaces: [])
    return try readyWarmState(machine, plan: plan, remakeDamaged: true)
  }
}

/// A warm state that is there but cannot be used: `up` says so and boots cold.
struct WarmStateDamaged: Error {
  var message: String
}
