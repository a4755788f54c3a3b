import Foundation
import Spec
import Support
import Synchronization

/// A warm-restored guest's identity of its own (machine-id, host keys, clock, random seed).
extension Lifecycle {
  /// Gives a restored guest what a booted one would have of its own: a new
  /// machine-id, new SSH host keys (made here, where randomness is not a copy),
  /// the host's time, fresh randomness in its kernel's pool, and a renewed DHCP
  /// lease. The shared connection goes on; every new one meets the new host key.
  /// A guest configured by cloud-init (`seeded`) also takes the machine's instance id
  /// (its seed's), so its later boots are not a new instance's.
  func refreshIdentity(
    _ machine: MachineSpec, record: MachineRecord, communicator: Communicator, hostKeys: HostKeyBatch,
    seeded: Bool = false
  ) throws {
    let instanceID = seeded ? try instanceID(machine) : nil
    reporter.step(
      machine.name,
      "giving the restored guest its own machine-id, SSH host keys, clock and random seed\(instanceID.map { ", and cloud-init instance id \($0)" } ?? "")"
    )
    // A restore cut short (a killed `up`) may have left the snapshot it started from.
    if try savedStates.snapshots(domain: record.domainName).contains(where: { $0.name == WarmState.snapshotName }) {
      try savedStates.deleteSnapshot(domain: record.domainName, name: WarmState.snapshotName)
    }
    let keys = try hostKeys.wait()
    var seed = [UInt8](repeating: 0, count: 512)
    for index in seed.indices { seed[index] = UInt8.random(in: 0...255) }
    let machineID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    let script = Lifecycle.identityScript(
      epoch: Date().timeIntervalSince1970, machineID: machineID, seed: Data(seed), hostKeys: keys,
      instanceID: instanceID)
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
    epoch: Double, machineID: String, seed: Data, hostKeys: [(type: String, privateKey: Data, publicKey: Data)],
    instanceID: String? = nil
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
    if let instanceID {
      lines += cloudInitInstanceLines(instanceID)
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

extension Lifecycle {
  /// cloud-init's records of the template's instance become the machine's: its
  /// instance folder (with the per-instance semaphores) is renamed, the cached
  /// datasource dropped, and this boot's instance data says the new id. The next
  /// boot reads the machine's seed, finds the same id, and runs nothing again.
  static func cloudInitInstanceLines(_ instanceID: String) -> [String] {
    [
      "new='\(instanceID)'; cloud=/var/lib/cloud",
      "if [ -f $cloud/data/instance-id ]; then",
      "  read -r old < $cloud/data/instance-id",
      "  if [ \"$old\" != \"$new\" ]; then",
      "    if [ -d \"$cloud/instances/$old\" ]; then rm -rf \"$cloud/instances/$new\"; mv \"$cloud/instances/$old\" \"$cloud/instances/$new\"; fi",
      "    ln -sfn \"$cloud/instances/$new\" $cloud/instance",
      "    rm -f $cloud/instance/obj.pkl",
      "    printf '%s\\n' \"$new\" > $cloud/data/instance-id",
      "    printf '%s\\n' \"$new\" > $cloud/data/previous-instance-id",
      "    for f in /run/cloud-init/.instance-id /run/cloud-init/instance-data.json /run/cloud-init/instance-data-sensitive.json; do",
      "      if [ -f \"$f\" ]; then sed -i \"s/$old/$new/g\" \"$f\"; fi",
      "    done",
      "  fi",
      "fi",
    ]
  }
}

/// New SSH host keys for a restored guest, made on this host (where randomness is
/// not a copy of the template's) on a thread of their own while the guest is
/// restored: an RSA key takes about a second.
final class HostKeyBatch: Sendable {
  typealias Key = (type: String, privateKey: Data, publicKey: Data)
  private let done = DispatchSemaphore(value: 0)
  /// Set by the thread before it signals `done`.
  private let result = Mutex<Result<[Key], Error>>(.success([]))

  init(_ communicators: CommunicatorFactory) {
    Thread.detachNewThread { [self] in
      let made = Result { try HostKeyBatch.make(communicators) }
      result.withLock { $0 = made }
      done.signal()
    }
  }

  func wait() throws -> [Key] {
    done.wait()
    done.signal()
    return try result.withLock { $0 }.get()
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
