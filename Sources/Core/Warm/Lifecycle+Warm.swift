import Boxes
import Foundation
import Host
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
    if !(hypervisor is any HypervisorWarmStates) {
      return "its hypervisor (\(hypervisor.uri)) keeps no warm states"
    }
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
    if let obstacle = cloudInitObstacle(machine, box: box) { return obstacle }
    return deviceObstacle(machine)
  }

  /// What a machine configured by cloud-init needs that a saved state cannot give:
  /// the state's guest ran cloud-init once, with Caravan's seed alone (its user and
  /// the insecure key, which the restored copy replaces with the machine's own).
  private func cloudInitObstacle(_ machine: MachineSpec, box: InstalledBox) -> String? {
    guard usesCloudInit(machine, box: box) else { return nil }
    if machine.cloudInit != nil {
      return
        "it has its own `cloud_init`, which cloud-init runs only at an instance's first boot, and the saved guest had its first boot without it"
    }
    if machine.ssh.privateKey != nil || !machine.ssh.insertKey {
      return
        "its seed authorizes \(machine.ssh.privateKey == nil ? "its own key only (`insert_key false`)" : "`private_key`"), and the saved guest authorizes the insecure key, which only the key replacement takes away"
    }
    return nil
  }

  /// Devices the box's saved guest does not have: volumes, a larger disk, UEFI, a TPM, a display.
  private func deviceObstacle(_ machine: MachineSpec) -> String? {
    if let volume = machine.volumes.first {
      return "it has volume '\(volume.name)', a disk the saved guest does not have"
    }
    if machine.diskBytes != nil { return "its `disk` size is not the saved guest's" }
    if firmware(machine, box: nil) == .uefi { return "it boots with UEFI, and the saved guest with BIOS" }
    if machine.libvirt.tpm { return "it has a TPM, a device the saved guest does not have" }
    if machine.libvirt.graphics != .none { return "it has a display, a device the saved guest does not have" }
    return nil
  }

  /// The lock of the box's saved state in `pool`: shared while machines are made
  /// from the state (it is read and copied by name), exclusive while it is checked,
  /// made or removed.
  func warmLockPath(_ box: InstalledBox, pool: String) -> String {
    CaravanPaths.home(environment: environment)
      + "/locks/\(Lifecycle.warmTemplateName(uri: hypervisor.uri, pool: pool, box: box)).lock"
  }

  /// The box's saved state, ready for the machine of `plan`: the one on record
  /// when it fits, else one made now (one boot), saying why; with its lock held,
  /// which the caller keeps until the state is copied (so no other `up` replaces it
  /// under the copy) and then unlocks.
  /// A state that is there but damaged (its record unreadable, its volume cut
  /// short) is removed; `remakeDamaged` false: then this throws `WarmStateDamaged`.
  func readyWarmState(_ machine: MachineSpec, plan: MachinePlan, remakeDamaged: Bool = false) throws -> (
    state: WarmState, made: Bool, lock: FileLock
  ) {
    let box = plan.box
    let pool = try warmStates.effectivePool(plan.pool)
    let wanted = try warmFingerprint(machine, plan: plan)
    // Most warm `up`s find a state that fits: they share the lock, and copy it at the same time.
    let shared = try FileLock(path: warmLockPath(box, pool: pool), shared: true)
    if case .fits(let state) = try assessWarmState(box, pool: pool, wanted: wanted, machine: machine) {
      return (state, false, shared)
    }
    shared.unlock()
    // One maker per box and pool; the others wait here and use what it made.
    let lock = try FileLock(path: warmLockPath(box, pool: pool))
    var why: String
    switch try assessWarmState(box, pool: pool, wanted: wanted, machine: machine) {
    case .fits(let state): return (state, false, lock)
    case .unfit(let reason): why = reason
    case .damaged(let damage):
      let wording = "box '\(box.name)' (\(box.version))"
      try discardWarmState(box, uri: hypervisor.uri, pool: pool)
      guard remakeDamaged else {
        throw WarmStateDamaged(message: "the saved state of \(wording) is damaged: \(damage)")
      }
      why = "the saved state of \(wording) was damaged (\(damage)) and is removed"
    }
    reporter.step(machine.name, "\(why); making it now (one boot; later warm starts restore it)")
    return (try makeWarmState(plan, fingerprint: wanted, machine: machine), true, lock)
  }

  /// What a state must have been made for: the driver's facts, and the login user
  /// the seed of an image box's template created.
  func warmFingerprint(_ machine: MachineSpec, plan: MachinePlan) throws -> WarmFingerprint {
    var wanted = try warmStates.warmFingerprint(for: plan)
    wanted.seedUser = plan.devices.seed == nil ? nil : machine.ssh.user
    return wanted
  }

  enum WarmAssessment {
    case fits(WarmState)
    /// Why the state on record (if any) does not serve the machine.
    case unfit(String)
    /// What is wrong with the state on record.
    case damaged(String)
  }

  /// Whether the box's state on record in `pool` serves a machine that needs `wanted`.
  func assessWarmState(_ box: InstalledBox, pool: String, wanted: WarmFingerprint, machine: MachineSpec) throws
    -> WarmAssessment
  {
    let wording = "box '\(box.name)' (\(box.version))"
    let known: WarmState?
    do {
      known = try WarmStateFiles.read(box, uri: hypervisor.uri, pool: pool)
    } catch {
      return .damaged(Lifecycle.oneLine(error))
    }
    guard let known else { return .unfit("\(wording) has no saved state in pool '\(pool)' yet") }
    if let mismatch = known.fingerprint.mismatch(wanted) {
      return .unfit("the saved state of \(wording) does not fit this machine (\(mismatch))")
    }
    // Its size on disk now: nil when its volume is gone, short when the file was cut.
    guard let size = try warmStates.warmStateSize(known) else {
      return .unfit("the saved state of \(wording) lost its volume '\(known.volume)' in pool '\(pool)'")
    }
    if size < known.sizeBytes / 10 * 9 {
      return .damaged("its volume '\(known.volume)' holds \(size >> 20) MiB of the \(known.sizeBytes >> 20) MiB saved")
    }
    if known.guestSSHPort != machine.ssh.port {
      return .unfit(
        "the saved state of \(wording) waited for SSH on guest port \(known.guestSSHPort), this machine uses \(machine.ssh.port)"
      )
    }
    return .fits(known)
  }

  /// Boots the box once on a throw-away overlay, takes its disk and memory as
  /// soon as its SSH answers, and records the state. A failure removes all of it.
  func makeWarmState(_ plan: MachinePlan, fingerprint: WarmFingerprint, machine: MachineSpec) throws -> WarmState {
    let box = plan.box
    let pool = try warmStates.effectivePool(plan.pool)
    var template = plan
    template.domainName = Lifecycle.warmTemplateName(uri: hypervisor.uri, pool: pool, box: box)
    // The project's: its `destroy` removes a template that a killed `up` left running.
    template.projectRoot = project.root
    template.machineName = "warm-state"
    template.sharedFolders = []
    template.attachments = []
    if plan.devices.seed != nil { template.devices.seed = try templateSeed(machine, box: box) }
    // The one there goes (a template left by a killed `up` or `box warm` too).
    try discardWarmState(box, uri: hypervisor.uri, pool: pool)
    do {
      let started = Date()
      let port = try startThrowaway(
        &template, guestPort: machine.ssh.port, as: machine.name, what: "SSH of the warm-state guest",
        step: .warmTemplate,
        saying: { "booting box '\(box.name)' once to save its state (SSH on 127.0.0.1:\($0))" },
        start: { plan in try warmStates.startWarmTemplate(plan) { reporter.step(machine.name, $0) } },
        discard: { try discardWarmState(box, uri: hypervisor.uri, pool: pool) })
      try SSHWait(deadline: started + machine.bootTimeoutSeconds, interval: 0.3, interrupt: interrupt).run(
        probe: { (sshAnswers(port), "") },
        stopped: {
          let status = try hypervisor.status(domain: template.domainName)
          guard status != .running else { return nil }
          return CaravanError(
            .hypervisor, "the warm-state guest of \(box.name) stopped while booting (libvirt says \(status))",
            hint: "Its serial console log is \(hypervisor.consoleLogPath(domain: template.domainName)).")
        },
        timedOut: { _ in
          CaravanError(
            .timeout,
            "the warm-state guest of \(box.name) did not answer SSH on 127.0.0.1:\(port) within \(Int(machine.bootTimeoutSeconds)) s"
          )
        },
        progress: { elapsed, _ in
          reporter.progress(
            machine.name, "waiting for the warm-state guest's SSH on 127.0.0.1:\(port) (\(Int(elapsed)) s)")
        })
      if template.devices.seed != nil {
        try waitForTemplateCloudInit(machine, port: port, deadline: started + machine.bootTimeoutSeconds)
      }
      reporter.step(
        machine.name, "the warm-state guest answered SSH after \(Int(Date().timeIntervalSince(started))) s; saving it")
      let captured = try track(machine.name, .saveWarmState, detail: box.name) {
        try warmStates.captureWarmState(template: template)
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

  /// The seed of an image box's template guest: Caravan's part alone, with the
  /// insecure key; each copy gets its own key, hostname and instance id when it is
  /// restored (`refreshIdentity`).
  private func templateSeed(_ machine: MachineSpec, box: InstalledBox) throws -> Data {
    try CloudInitSeed(
      identity: CloudInitIdentity(
        user: machine.ssh.user, publicKey: communicators.insecurePublicKey(), hostname: "caravan",
        instanceID: "caravan-warm-\(StableHash.hex(box.volumeName, length: 12))"),
      userData: nil, source: ""
    ).image()
  }

  /// The template's state is saved once cloud-init has finished: its copies never run it again.
  private func waitForTemplateCloudInit(_ machine: MachineSpec, port: Int, deadline: Date) throws {
    let endpoint = SSHEndpoint(
      port: port, user: machine.ssh.user, identityFiles: try communicators.insecureKeyFiles(),
      jump: try LibvirtURI.jump(for: hypervisor.uri))
    try waitForCloudInit(
      machine, communicator: communicators.communicator(for: endpoint), guest: "the warm-state guest",
      deadline: deadline)
  }

  /// Removes the box's warm state in `pool` of `uri`: its record first (a state
  /// without it is never used), then its template domain, if any, and its volume.
  func discardWarmState(_ box: InstalledBox, uri: String, pool: String) throws {
    WarmStateFiles.remove(box, uri: uri, pool: pool)
    try warmStates.removeWarmState(
      box: box, pool: pool, template: Lifecycle.warmTemplateName(uri: uri, pool: pool, box: box))
  }

  /// Whether a machine being created starts warm, and from which state (with its
  /// lock held: unlock it once the machine's copy is made); nil (having said why)
  /// when it boots cold. An interrupt is thrown, never a cold boot instead.
  func warmStateForNewMachine(_ machine: MachineSpec, plan: MachinePlan) throws -> (state: WarmState, lock: FileLock)? {
    if let obstacle = warmObstacle(machine, box: plan.box) {
      reporter.step(machine.name, "not starting warm, a cold boot instead: \(obstacle)")
      return nil
    }
    do {
      let ready = try readyWarmState(machine, plan: plan)
      return (ready.state, ready.lock)
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
    let uuid = try track(name, .defineWarm, detail: plan.domainName) { try warmStates.defineWarm(plan, from: state) }
    var record = MachineRecord(
      domainName: plan.domainName, domainUUID: uuid, libvirtURI: hypervisor.uri, boxName: plan.box.name,
      boxVersion: plan.box.version, sshPort: forwards[0].host, forwards: forwards,
      accelerator: plan.accelerator)
    record.firstUp = .identityPending
    try saveProgress(record, for: name)
    reportForwards(name, forwards)
    try track(name, .restore, detail: plan.domainName) { try warmStates.startWarm(plan) }
    reporter.step(
      name, "restored from the warm state in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    return record
  }

  /// After a warm start failed: removes the machine it made and the state that
  /// failed (the next warm `up` makes it anew), and says so; `lock` (the state's,
  /// held since it was chosen) is released. The state goes only when it is still the
  /// one that failed, and only when no other `up` holds its lock (this one holds the
  /// ports lock, so it does not wait for it): another `up` may be using it, or
  /// have replaced it with its own (another memory size), which is not this one's to discard.
  func abandonWarmStart(
    _ machine: MachineSpec, plan: MachinePlan, state: WarmState, lock: FileLock?, error: Error
  ) {
    let box = plan.box
    try? hypervisor.remove(domain: plan.domainName, keepLogs: false)
    try? project.removeMachineState(machine.name)
    lock?.unlock()
    var removed = false
    if let exclusive = try? FileLock(path: warmLockPath(box, pool: state.pool), wait: false) {
      if (try? WarmStateFiles.read(box, uri: state.uri, pool: state.pool)) == state {
        try? discardWarmState(box, uri: state.uri, pool: state.pool)
        removed = true
      }
      exclusive.unlock()
    }
    reporter.warning(
      "machine '\(machine.name)': the warm start failed (\(Lifecycle.oneLine(error))); falling back to a cold boot. "
        + (removed
          ? "The saved state of box '\(box.name)' was removed; the next warm `up` makes it anew."
          : "The saved state of box '\(box.name)' is kept: another `up` is using or has replaced it.")
    )
  }

  static func oneLine(_ error: Error) -> String {
    let text = (error as? CaravanError)?.message ?? "\(error)"
    return text.split(separator: "\n").map(String.init).joined(separator: " ")
  }
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
    reportAccelerator(machine, choice)
    try hypervisor.importBox(box, pool: machine.libvirt.pool) { reporter.step(machine.name, $0) }
    let plan = try machinePlan(machine, box: box, accelerator: choice.accelerator, forwards: [], interfaces: [])
    let ready = try readyWarmState(machine, plan: plan, remakeDamaged: true)
    ready.lock.unlock()
    return (ready.state, ready.made)
  }
}

/// A warm state that is there but cannot be used: `up` says so and boots cold.
struct WarmStateDamaged: Error {
  var message: String
}
