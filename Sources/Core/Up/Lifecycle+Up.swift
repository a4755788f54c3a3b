import Boxes
import Foundation
import Host
import Spec
import Support

/// How `up` treats provisioners and failures.
public struct UpOptions: Sendable {
  /// nil: `once` provisioners the first time and `always` ones on every boot;
  /// true: all of them again; false: none.
  public var provision: Bool?
  /// Only these provisioners (by name or type), whatever their `run:`.
  public var provisionWith: [String]
  /// A first `up` that fails removes what it made (the console log stays).
  public var destroyOnError: Bool
  /// How many machines boot at once (`--parallel N`); nil: chosen from the host.
  public var parallel: Int?
  /// New machines start from their box's saved running state (`--warm`); nil:
  /// as the machine's `libvirt { warm }` says.
  public var warm: Bool?
  /// `--locked` (`CARAVAN_LOCKED=1`): `Machinefile.lock` must exist and name every
  /// machine's box as installed; nothing else is used, and the lock is not written.
  public var locked: Bool

  public init(
    provision: Bool? = nil, provisionWith: [String] = [], destroyOnError: Bool = true, parallel: Int? = nil,
    warm: Bool? = nil, locked: Bool = false
  ) {
    self.provision = provision
    self.provisionWith = provisionWith
    self.destroyOnError = destroyOnError
    self.parallel = parallel
    self.warm = warm
    self.locked = locked
  }
}

extension Lifecycle {
  /// `caravan up`: create or boot each machine, wait for SSH, replace the
  /// insecure key once, set the hostname and run provisioners, with the machine's
  /// `trigger before/after: :up` around it. Several machines come up in parallel
  /// (see `ParallelUp`); one machine's failure stops only that machine.
  public func up(_ machines: [MachineSpec], options: UpOptions = UpOptions()) throws {
    // This host's cheap checks (the OpenSSH client, CARAVAN_HOME's space, /dev/kvm) first.
    try preflight()
    // The project's `network` lines, checked together before any machine is made.
    _ = try NetworkLayout.check(project)
    try refuseNetworksAcrossHosts()
    // Machinefile.lock: read (and, with --locked, checked against every machine) before anything is made.
    let lock = try openLock(machines, locked: options.locked)
    let plans = try machines.map(upPlan).map { plan in
      var plan = plan
      plan.lock = lock
      return plan
    }
    try checkNetworks(of: plans)
    // What the machines resolved is written whatever became of them.
    defer { saveLock(lock) }
    do {
      try ParallelUp(lifecycle: self, plans: plans, options: options).run()
    } catch {
      // The machines that came up still learn each other's names (not after an interrupt: it stops now).
      if !interrupt.requested { try? updateHosts(after: machines) }
      throw error
    }
    try updateHosts(after: machines)
  }

  /// Writes what this `up` added to the lock; a lock that cannot be written is a warning.
  private func saveLock(_ lock: BoxLocker) {
    do {
      let first = lock.original == nil
      try lock.save()
      if first && !lock.locked && !lock.lock.boxes.isEmpty {
        reporter.note("wrote \(lock.shown) (each box as resolved, with its digests): commit it beside the Machinefile")
      }
    } catch {
      reporter.warning("could not write \(lock.path): \(Lifecycle.oneLine(error))")
    }
  }

  public func up(_ machines: [MachineSpec], provision: Bool?) throws {
    try up(machines, options: UpOptions(provision: provision))
  }

  func up(_ plan: UpPlan, options: UpOptions) throws {
    let machine = plan.machine
    let name = machine.name
    warnUnsupported(machine)
    try checkRemoteLibvirt(machine)
    // Before anything is made: a folder or host tool a sync needs (virtiofsd…).
    if !syncedFolders(machine).isEmpty { try syncer?.preflight(machine, projectRoot: project.root) }
    try checkSharedFolders(machine)
    let state = try reconcile(machine)
    var record: MachineRecord
    // A fresh boot, or a first `up` that did not finish: hostname and `once`
    // provisioners are due.
    var fresh: Bool
    // What a failure removes: only what this `up` made.
    var made = MadeByUp.nothing
    switch state {
    case .untracked:
      throw stateErrors(machine, action: "bring up").untracked(
        domain: project.domainName(for: name), stateDirectory: project.stateDirectory)
    case .tracked(.running, let known):
      fresh = known.firstUp != .finished
      reporter.step(name, fresh ? "running; finishing its first `up`, which was interrupted" : "already running")
      record = known
    case .notCreated, .tracked(.poweroff, _), .tracked(.crashed, _), .tracked(.shuttingDown, _):
      if state.status == .shuttingDown || state.status == .crashed {
        try hypervisor.forceOff(domain: project.domainName(for: name))
      }
      fresh = true
      // A disk without its domain (`virsh undefine`) is the machine's: used again, never removed here.
      let kept = state.status == .notCreated ? try keptDisk(machine) : nil
      if state.status == .notCreated && options.destroyOnError { made = kept == nil ? .machine : .domain }
      record = try removingOnError(machine, made: made) {
        try createOrBoot(plan, existing: kept ?? state.record, warm: options.warm ?? machine.libvirt.warm)
      }
    case .tracked(.saved, let known), .tracked(.paused, let known):
      // A suspended or paused machine continues where it was: no boot, no
      // provisioning (unless its first `up` did not finish).
      let resumed = try continueSuspended(machine, status: state.status, record: known)
      guard resumed.firstUp != .finished else { return }
      fresh = true
      record = resumed
    case .tracked:
      throw CaravanError(
        .conflict, "machine '\(name)' is \(state.status) in libvirt; `up` does not resume it yet",
        hint:
          "Resume or power it off with virsh (`virsh -c \(hypervisor.uri) destroy \(project.domainName(for: name))`), then run `caravan up` again."
      )
    }
    let firstUp = record.firstUp != .finished
    try removingOnError(machine, made: made) {
      try finishUp(plan, record: &record, fresh: fresh, options: options)
    }
    if firstUp { try saveProgress(record, for: name) }
    let key = record.keyReplaced ? project.keyPath(name) : (machine.ssh.privateKey ?? "the box's insecure key")
    reporter.step(
      name,
      "ready. `caravan ssh\(argument(for: machine))` logs in (ssh -p \(record.sshPort) -i \(key)\(try jumpArgument()) \(machine.ssh.user)@127.0.0.1)"
    )
  }

  /// Once the domain runs: SSH, the key, the hostname, provisioners; the
  /// record says the first `up` is complete at the end.
  func finishUp(_ plan: UpPlan, record: inout MachineRecord, fresh: Bool, options: UpOptions) throws {
    let machine = plan.machine
    let name = machine.name
    let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
    // The shared connection stays up for ControlPersist (60 s): the next command reuses it.
    // Also when it was already running: an `up` stopped half way (Ctrl-C) may
    // have left a guest that is still booting.
    // A warm start: the guest is the template's copy until it has its own identity.
    let restored = record.firstUp == .identityPending
    let hostKeys = restored ? HostKeyBatch(communicators) : nil
    let box = recordedBox(record)
    let cloudInit = box.map { usesCloudInit(machine, box: $0) } ?? (machine.cloudInit != nil)
    try track(name, .waitSSH) {
      try waitForSSH(
        machine, record: record, communicator: communicator,
        boot: BootFacts(seeded: cloudInit, firmware: firmware(machine, box: box)))
    }
    if fresh && cloudInit {
      try track(name, .cloudInit) { try waitForCloudInit(machine, communicator: communicator) }
    }
    if let hostKeys {
      try track(name, .refreshIdentity) {
        try refreshIdentity(
          machine, record: record, communicator: communicator, hostKeys: hostKeys, seeded: cloudInit)
        record.firstUp = .unfinished
        try saveProgress(record, for: name)
      }
    }
    if !record.keyReplaced && machine.ssh.insertKey && machine.ssh.privateKey == nil {
      try track(name, .replaceKey) {
        reporter.step(name, "replacing the box's insecure key with a new ed25519 key")
        try communicator.replaceKey(withPrivateKeyAt: try ensureMachineKey(machine))
        record.keyReplaced = true
        try saveProgress(record, for: name)
      }
    }
    // A restored guest has the template's hostname: without a `hostname`, it gets the machine's name.
    if fresh, let hostname = machine.hostname ?? (restored ? Lifecycle.defaultHostname(machine.name) : nil) {
      try track(name, .hostname, detail: hostname) {
        reporter.step(name, "setting hostname '\(hostname)'")
        _ = try communicator.run(Lifecycle.hostnameCommand(hostname), what: "setting the hostname")
      }
    }
    // `disk`: cloud-init grows the root where the image has it; this catches the rest.
    if fresh, machine.diskBytes != nil {
      try track(name, .growDisk) { try growRootFileSystem(machine, communicator: communicator) }
    }
    // After each boot: the extra NICs' configuration is kept in the guest, but
    // the Machinefile may have changed, and the guest may have lost it.
    if fresh, !plan.interfaces.isEmpty {
      try track(name, .configureNetworks) {
        try configureGuestNetworks(machine, interfaces: plan.interfaces, communicator: communicator, record: &record)
      }
    }
    // Synced folders: after SSH (and the hostname), before the provisioners, which may use them.
    try syncFolders(machine, communicator: communicator)
    let mode: ProvisionMode =
      options.provision == false ? .none : options.provision == true ? .all : (fresh ? .pending : .alwaysOnly)
    if options.provisionWith.isEmpty {
      try runProvisioners(machine, record: &record, communicator: communicator, mode: mode)
    } else if options.provision != false {
      try runProvisioners(
        machine, record: &record, communicator: communicator, mode: .all,
        only: try provisionerNames(machine, matching: options.provisionWith))
    }
    record.firstUp = .finished
  }

  func warnUnsupported(_ machine: MachineSpec) {
    for setting in support.unsupported(in: machine) {
      let place =
        setting.location.line > 0
        ? " (\((project.machinefilePath as NSString).lastPathComponent):\(setting.location))" : ""
      reporter.warning("machine '\(machine.name)': '\(setting.name)'\(place) is not supported yet and is ignored")
    }
  }

  /// The machine's name as a hostname, when it is a valid one (letters, digits, inner dashes).
  static func defaultHostname(_ name: String) -> String? {
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
    let lower = name.lowercased()
    guard !lower.isEmpty, lower.count <= 63, lower.allSatisfy(allowed.contains), lower.first != "-", lower.last != "-"
    else { return nil }
    return lower
  }

  static func hostnameCommand(_ hostname: String) -> String {
    let short = hostname.split(separator: ".").first.map(String.init) ?? hostname
    return """
      sudo sh -c 'hostname \(hostname) && echo \(hostname) > /etc/hostname && \
      (grep -q "^127.0.1.1" /etc/hosts && sed -i "s/^127.0.1.1.*/127.0.1.1\\t\(hostname) \(short)/" /etc/hosts || echo "127.0.1.1\t\(hostname) \(short)" >> /etc/hosts) && sync'
      """
  }

  /// Defines (first time) or redefines and starts the domain, from the box's
  /// warm state when asked and it can, else cold; returns the saved record.
  func createOrBoot(_ plan: UpPlan, existing known: MachineRecord?, warm: Bool = false) throws -> MachineRecord {
    let machine = plan.machine
    let name = machine.name
    let existing = try checkedDisk(machine, known)
    let box = try resolveBox(machine, existing: existing, lock: plan.lock)
    // Until the domain names the box, `box remove` must wait for us (it takes this lock exclusively).
    let boxUse = try boxes.useLock(for: box) { self.reporter.step(name, $0) }
    defer { boxUse.unlock() }
    let choice = try plan.accelerator.get()
    reportAccelerator(machine, choice)
    if !plan.interfaces.isEmpty {
      try track(name, .networks) { try prepareNetworks(machine, interfaces: plan.interfaces) }
    }
    try track(name, .importBox, detail: "\(box.name) \(box.version)") {
      try hypervisor.importBox(box, pool: machine.libvirt.pool) { reporter.step(name, $0) }
    }
    let start = StartPlan(up: plan, box: box, accelerator: choice.accelerator)
    // A new machine asked to start warm: the box's saved state (made now if need be),
    // with its lock, held until the machine's copy of it is made and started.
    let warmState =
      warm && existing == nil
      ? try warmStateForNewMachine(machine, plan: try start.machinePlan(self, forwards: [])) : nil
    defer { warmState?.lock.unlock() }
    // Ports are chosen and bound (by QEMU, at start) under one lock for all of
    // this user's caravan processes, so parallel `up`s never pick the same port.
    // The box import above is outside it: one import holds up no other `up`.
    let portLock = try FileLock(path: CaravanPaths.runtime(environment: environment) + "/ports.lock")
    defer { portLock.unlock() }
    if let warmState, let record = try startWarm(start, state: warmState.state, lock: warmState.lock) {
      return record
    }
    return try startCold(start, existing: existing)
  }

  /// Before anything is made on a remote libvirt: a URI whose host Caravan cannot
  /// reach the guests through (not over SSH), and folders that only a libvirt on this
  /// machine can share (9p, virtiofs: the host folder would be the remote host's).
  func checkRemoteLibvirt(_ machine: MachineSpec) throws {
    guard let jump = try LibvirtURI.jump(for: hypervisor.uri) else { return }
    if let shared = syncedFolders(machine, kinds: [.ninep, .virtiofs]).first {
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)': the \(shared.kind.rawValue) folder '\(shared.source)' cannot be shared by a libvirt on another host (\(jump.host), \(hypervisor.uri))",
        hint: "Use `type: rsync` for it: rsync copies it over SSH through \(jump.host).")
    }
  }

  /// Where the guest's SSH is forwarded: "127.0.0.1:2222", and the host on a remote libvirt.
  func sshPlace(_ record: MachineRecord) throws -> String {
    "127.0.0.1:\(record.sshPort)" + (try LibvirtURI.jump(for: hypervisor.uri).map { " of \($0.host)" } ?? "")
  }

  /// " -J user@host" (or the ProxyCommand) an ssh command line needs for a remote libvirt; "" for a local one.
  func jumpArgument() throws -> String {
    guard let option = try LibvirtURI.jump(for: hypervisor.uri)?.openSSHOption else { return "" }
    return option.key == "ProxyJump" ? " -J \(option.value)" : " -o \(shellQuote("ProxyCommand=" + option.value))"
  }

  /// What a guest that never answers SSH is told by: its seed, and the firmware it booted with.
  struct BootFacts {
    var seeded = false
    var firmware = LibvirtSettings.Firmware.bios
  }

  func waitForSSH(
    _ machine: MachineSpec, record: MachineRecord, communicator: Communicator, boot: BootFacts = BootFacts()
  ) throws {
    let limit = machine.bootTimeoutSeconds
    let place = try sshPlace(record)
    let console = hypervisor.consoleLogPath(domain: record.domainName)
    reporter.progress(machine.name, "waiting for SSH on \(place) (0 s of \(Int(limit)) s)")
    let waited = try SSHWait(deadline: Date() + limit, interval: 0.3, interrupt: interrupt).run(
      probe: communicator.probe,
      stopped: {
        let status = try hypervisor.status(domain: record.domainName)
        guard status != .running else { return nil }
        return CaravanError(
          .hypervisor, "machine '\(machine.name)' stopped while booting (libvirt says \(status))",
          hint: "Its serial console log is \(console); `caravan destroy -f \(machine.name)` removes it.")
      },
      timedOut: { last in
        var seed =
          boot.seeded
          ? "; its user and key come from its cloud-init seed, so the image may not have read it (no cloud-init in the image, or not its NoCloud source)"
          : ""
        if boot.seeded || boot.firmware == .uefi {
          let other = boot.firmware == .uefi ? "bios" : "uefi"
          seed +=
            "; it booted with \(boot.firmware == .uefi ? "UEFI (OVMF)" : "BIOS") firmware: an image made for the other does not boot (`libvirt { firmware \(other) }`)"
        }
        return CaravanError(
          .timeout,
          "machine '\(machine.name)' did not answer SSH on \(place) as '\(machine.ssh.user)' within \(Int(limit)) s (last attempt: \(last))\(seed)",
          hint:
            "The machine is left running so you can look: its serial console log is \(console). Raise `boot_timeout` if it is only slow; `caravan destroy -f \(machine.name)` removes it."
        )
      },
      progress: { elapsed, _ in
        reporter.progress(machine.name, "waiting for SSH on \(place) (\(Int(elapsed)) s of \(Int(limit)) s)")
      })
    reporter.step(machine.name, "SSH is up after \(Int(waited)) s")
  }
}
