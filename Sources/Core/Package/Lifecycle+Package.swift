import Boxes
import Foundation
import Host
import Spec
import Support

/// What `caravan package` writes, and how.
public struct PackageOptions: Sendable {
  /// The box file (`NAME.box`), absolute.
  public var output: String
  /// The box's name and version in its catalog entry.
  public var name: String
  public var version: String
  /// The catalog the entry goes into (a Vagrant catalog, as `caravan build` writes), absolute.
  public var catalog: String
  /// Leave the machine's own key authorized instead of the Vagrant insecure key.
  public var keepKey: Bool

  public init(output: String, name: String, version: String, catalog: String, keepKey: Bool) {
    self.output = output
    self.name = name
    self.version = version
    self.catalog = catalog
    self.keepKey = keepKey
  }
}

/// `caravan package`: a machine becomes a box. The machine is halted (and brought
/// back after if it ran); a copy of its disk (a new overlay over it) boots as a guest
/// of its own, is cleaned for reuse over SSH, powers off and is written out flattened
/// and compressed. The machine's disk is only read: it is left exactly as it was.
extension Lifecycle {
  public func package(_ machine: MachineSpec, options: PackageOptions) throws -> BoxPackager.Written {
    guard let packaging = hypervisor as? any HypervisorPackaging else {
      throw CaravanError(.invalidInput, "this hypervisor (\(hypervisor.uri)) cannot package machines")
    }
    let name = machine.name
    let state = try reconcile(machine)
    guard case .tracked(let status, let record) = state else {
      throw stateErrors(machine, action: "package").notRunning(state.status)
    }
    switch status {
    case .running, .poweroff, .shuttingDown, .crashed: break
    default:
      throw CaravanError(
        .conflict, "cannot package machine '\(name)': it is \(status)",
        hint: "`caravan resume\(argument(for: machine))` or `caravan halt\(argument(for: machine))` it first.")
    }
    // Refused before the machine is halted: the box is written from its disk on this host.
    if let remote = try? LibvirtURI(hypervisor.uri), !remote.isLocal {
      throw CaravanError(
        .invalidInput,
        "machine '\(name)' is on another host (\(hypervisor.uri)); `caravan package` writes the box from the machine's disk on this one",
        hint: "Run `caravan package` on the libvirt host itself.")
    }
    let box = try packagedBox(machine, record: record)
    let wasRunning = status != .poweroff
    if wasRunning {
      reporter.step(name, "halting it to package its disk (it is brought back after)")
      try halt(machine, force: false)
    }
    let written: BoxPackager.Written
    do {
      written = try track(name, .package) {
        try packageCopy(machine, record: record, box: box, options: options, packaging: packaging)
      }
    } catch {
      // A failed package leaves the machine as it found it (an interrupt stops at once).
      if wasRunning && !interrupt.requested {
        reporter.step(name, "packaging failed; bringing it back up, as it was before `package`")
        try? up([machine], options: UpOptions(provision: false))
      }
      throw error
    }
    if wasRunning {
      reporter.step(name, "bringing it back up, as it was before `package`")
      try up([machine], options: UpOptions(provision: false))
    }
    return written
  }

  /// The box the machine was made from (its plan needs it: firmware, the image's seed).
  private func packagedBox(_ machine: MachineSpec, record: MachineRecord) throws -> InstalledBox {
    guard
      let box = try boxes.list().first(where: { $0.name == record.boxName && $0.version == record.boxVersion })
    else {
      throw CaravanError(
        .notFound,
        "machine '\(machine.name)' was made from box '\(record.boxName)' (\(record.boxVersion)), which is no longer installed",
        hint: "`caravan box add \(record.boxName) --box-version \(record.boxVersion)` installs it again.")
    }
    if box.metadata.disks.count > 1 {
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)' has \(box.metadata.disks.count) disks from its box; `caravan package` writes a box of one disk",
        hint: "Package a machine of a one-disk box.")
    }
    return box
  }

  /// Boots the copy, cleans it, powers it off and writes the box; the copy is removed whatever happens.
  private func packageCopy(
    _ machine: MachineSpec, record: MachineRecord, box: InstalledBox, options: PackageOptions,
    packaging: any HypervisorPackaging
  ) throws -> BoxPackager.Written {
    let name = machine.name
    var plan = try machinePlan(
      machine, box: box, accelerator: record.accelerator ?? .tcg, forwards: [], interfaces: [])
    plan.domainName = Lifecycle.packageCopyName(record.domainName)
    plan.sharedFolders = []
    plan.devices.volumes = []
    plan.devices.rootDiskBytes = nil
    plan.devices.tpm = false
    plan.devices.graphics = .none
    defer { try? packaging.removePackageCopy(plan.domainName, pool: plan.pool) }
    let started = Date()
    let port = try startThrowaway(
      &plan, guestPort: machine.ssh.port, as: name, what: "SSH of the packaged copy", step: .packageCopy,
      saying: { "booting a copy of its disk to clean it for reuse (SSH on 127.0.0.1:\($0))" },
      start: { try packaging.startPackageCopy($0, of: record.domainName) },
      discard: { [domain = plan.domainName, pool = plan.pool] in try packaging.removePackageCopy(domain, pool: pool) })
    let endpoint = SSHEndpoint(
      port: port, user: machine.ssh.user,
      identityFiles: try endpoint(for: machine, record: record, shared: false)
        .identityFiles)
    let communicator = communicators.communicator(for: endpoint)
    defer { communicator.close() }
    try waitForCopy(
      machine, plan: plan, communicator: communicator, port: port, deadline: started + machine.bootTimeoutSeconds)
    try track(name, .packageClean) {
      reporter.step(
        name,
        "cleaning the copy: machine-id, SSH host keys, cloud-init's instance, logs, package caches"
          + (options.keepKey ? "" : ", its key (the Vagrant insecure key is authorized again)"))
      let script = Lifecycle.packageCleanScript(
        user: machine.ssh.user, authorizedKeys: options.keepKey ? nil : communicators.insecurePublicKey())
      var output = ""
      let status = try communicator.execute("sudo -n sh -s", input: Data(script.utf8)) { _, line in
        output += line + "\n"
      }
      guard status == 0 else {
        throw CaravanError(
          .guest,
          "cleaning the packaged copy of machine '\(name)' failed (exit status \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))",
          hint: "The machine itself is untouched. Its user needs passwordless sudo (as for provisioners).")
      }
      // The script powers the copy off once its session has ended (its host keys are
      // gone: sshd takes no new connection), else ACPI; then the plug.
      communicator.close()
      let wait = min(30, machine.gracefulHaltTimeoutSeconds)
      var off = try waitForPowerOff(plan.domainName, seconds: wait)
      if !off, (try? hypervisor.requestShutdown(domain: plan.domainName)) != nil {
        off = try waitForPowerOff(plan.domainName, seconds: wait)
      }
      if !off {
        // Everything it wrote was synced by the script: pulling the plug loses nothing.
        try hypervisor.forceOff(domain: plan.domainName)
      }
    }
    return try track(name, .packageWrite) {
      try writePackage(machine, plan: plan, options: options, packaging: packaging)
    }
  }

  private func waitForCopy(
    _ machine: MachineSpec, plan: MachinePlan, communicator: Communicator, port: Int, deadline: Date
  ) throws {
    try SSHWait(deadline: deadline, interval: 0.3, interrupt: interrupt).run(
      probe: communicator.probe,
      stopped: {
        let status = try hypervisor.status(domain: plan.domainName)
        guard status != .running else { return nil }
        return CaravanError(
          .hypervisor, "the packaged copy of machine '\(machine.name)' stopped while booting (libvirt says \(status))",
          hint: "Its serial console log is \(hypervisor.consoleLogPath(domain: plan.domainName)).")
      },
      timedOut: { last in
        CaravanError(
          .timeout,
          "the packaged copy of machine '\(machine.name)' did not answer SSH on 127.0.0.1:\(port) within \(Int(machine.bootTimeoutSeconds)) s (last attempt: \(last))",
          hint: "The machine itself is untouched. Raise `boot_timeout` if the copy is only slow.")
      },
      progress: { elapsed, _ in
        reporter.progress(machine.name, "waiting for the packaged copy's SSH on 127.0.0.1:\(port) (\(Int(elapsed)) s)")
      })
  }

  /// The copy's disk, flattened and compressed, tarred with its metadata into the box
  /// file, and the box's entry in the catalog.
  private func writePackage(
    _ machine: MachineSpec, plan: MachinePlan, options: PackageOptions, packaging: any HypervisorPackaging
  ) throws -> BoxPackager.Written {
    let folder = (options.output as NSString).deletingLastPathComponent
    let image = folder + "/.\((options.output as NSString).lastPathComponent).img"
    try FileSystem.makeDirectory(folder)
    try? FileManager.default.removeItem(atPath: image)
    defer { try? FileManager.default.removeItem(atPath: image) }
    reporter.step(machine.name, "writing its disk, flattened and compressed (zstd qcow2)")
    let capacity = try packaging.exportPackageCopy(plan, to: image)
    let written = try BoxPackager.write(
      disk: image, virtualBytes: capacity, format: .v1, boxName: options.name, to: options.output,
      madeBy: "`caravan package` of machine '\(machine.name)'")
    try BoxPackager.writeCatalogEntry(
      path: options.catalog, name: options.name, version: options.version,
      url: URL(fileURLWithPath: options.output).absoluteString, sha256: written.sha256)
    return written
  }

  /// The shell script (run as root) that makes a guest's disk reusable as a box:
  /// a new machine-id and new SSH host keys at its next boot, cloud-init's instance
  /// forgotten (the next boot is a new instance's), logs, caches and histories emptied,
  /// and `authorizedKeys` (the insecure key) as the login user's only key, unless nil.
  /// Freed blocks are discarded so the written box holds only what is used.
  public static func packageCleanScript(user: String, authorizedKeys: String?) -> String {
    var lines = [
      "set -e",
      "if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs >/dev/null; fi",
      // An empty machine-id: systemd makes a new one at the next boot.
      ": > /etc/machine-id",
      "if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then rm -f /var/lib/dbus/machine-id; fi",
      "rm -f /var/lib/systemd/random-seed /etc/ssh/ssh_host_*",
      // New host keys before sshd starts, where nothing else makes them (cloud-init, a box's own unit).
      "if [ -d /etc/systemd/system ]; then",
      "  cat > /etc/systemd/system/caravan-ssh-host-keys.service <<'UNIT'",
      "[Unit]",
      "Description=SSH host keys of a machine made from a packaged box",
      "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key",
      "Before=ssh.service sshd.service",
      "[Service]",
      "Type=oneshot",
      "ExecStart=/usr/bin/ssh-keygen -A",
      "[Install]",
      "WantedBy=multi-user.target",
      "UNIT",
      "  mkdir -p /etc/systemd/system/multi-user.target.wants",
      "  ln -sf ../caravan-ssh-host-keys.service /etc/systemd/system/multi-user.target.wants/caravan-ssh-host-keys.service",
      "fi",
      "if command -v journalctl >/dev/null 2>&1; then journalctl --rotate >/dev/null 2>&1 || true; fi",
      "rm -rf /var/log/journal/*/* 2>/dev/null || true",
      "find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \\) -delete 2>/dev/null || true",
      "find /var/log -type f -exec truncate -s 0 {} + 2>/dev/null || true",
      "if command -v apt-get >/dev/null 2>&1; then apt-get clean; fi",
      "if command -v dnf >/dev/null 2>&1; then dnf clean all >/dev/null; elif command -v yum >/dev/null 2>&1; then yum clean all >/dev/null; fi",
      // /tmp only: /var/tmp is meant to outlive a reboot, and a provisioner may have left work there.
      "rm -rf /tmp/* 2>/dev/null || true",
      "home=$(getent passwd \(shellQuote(user)) | cut -d: -f6)",
      "rm -f /root/.bash_history \"$home/.bash_history\"",
    ]
    if let authorizedKeys {
      lines += [
        "mkdir -p \"$home/.ssh\"",
        "printf '%s\\n' \(shellQuote(authorizedKeys)) > \"$home/.ssh/authorized_keys\"",
        "chmod 700 \"$home/.ssh\"",
        "chmod 600 \"$home/.ssh/authorized_keys\"",
        "chown -R \(shellQuote(user)): \"$home/.ssh\"",
      ]
    }
    lines += [
      "sync",
      "if command -v fstrim >/dev/null 2>&1; then fstrim -a >/dev/null 2>&1 || true; fi",
      "sync",
      // Powered off a second after this session ends: no new SSH connection would be let in.
      "nohup sh -c 'sleep 1; systemctl poweroff || poweroff' >/dev/null 2>&1 < /dev/null &",
    ]
    return lines.joined(separator: "\n") + "\n"
  }
}
