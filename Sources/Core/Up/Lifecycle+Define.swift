import Boxes
import Foundation
import Host
import Spec
import Support

/// What `up` defines a machine from: its box, its ports, its plan and domain.
extension Lifecycle {
  /// Whether `error` is QEMU's failure to bind one of `forwards`' host ports (a
  /// few times at most): then that port joins `avoided`, and `up` says so.
  func avoidBusyPort(
    _ error: Error, domain: String, forwards: [ResolvedForward], avoided: inout Set<Int>, as name: String
  ) throws -> Bool {
    guard avoided.count < 5, let busy = unboundPort(after: error, domain: domain),
      forwards.contains(where: { $0.host == busy })
    else { return false }
    let host = try LibvirtURI.jump(for: hypervisor.uri).map { "on \($0.host)" } ?? "here since it was chosen"
    reporter.step(name, "host port \(busy) is in use \(host) (QEMU could not bind it); choosing another")
    avoided.insert(busy)
    return true
  }

  /// Defines (or redefines) the domain on `forwards` and saves its record.
  func defineMachine(
    _ machine: MachineSpec, box: InstalledBox, accelerator: Accelerator, forwards: [ResolvedForward],
    interfaces: [MachineInterface], existing: MachineRecord?
  ) throws -> MachineRecord {
    let name = machine.name
    let domain = project.domainName(for: name)
    let plan = try machinePlan(
      machine, box: box, accelerator: accelerator, forwards: forwards, interfaces: interfaces)
    reporter.step(
      name,
      existing == nil
        ? "creating domain '\(domain)' from box '\(box.name)' (\(box.version)), \(machine.cpus) CPU, \(machine.memoryMiB) MiB"
        : "booting domain '\(domain)'")
    let uuid = try track(name, .define, detail: domain) { try hypervisor.define(plan) { reporter.step(name, $0) } }
    var record =
      existing
      ?? MachineRecord(
        domainName: domain, domainUUID: uuid, libvirtURI: hypervisor.uri,
        boxName: box.name, boxVersion: box.version, sshPort: forwards[0].host, forwards: [],
        accelerator: accelerator)
    record.domainUUID = uuid
    record.boxName = box.name
    record.boxVersion = box.version
    record.sshPort = forwards[0].host
    record.forwards = forwards
    record.accelerator = accelerator
    // An image has no insecure key to replace: its seed authorizes the machine's own from the first boot.
    if box.metadata.image != nil { record.keyReplaced = true }
    try saveProgress(record, for: name)
    reportForwards(name, forwards)
    return record
  }

  /// Everything the hypervisor needs to define the machine, resolved.
  func machinePlan(
    _ machine: MachineSpec, box: InstalledBox, accelerator: Accelerator, forwards: [ResolvedForward],
    interfaces: [MachineInterface]
  ) throws -> MachinePlan {
    let restrict = ["1", "true", "yes"].contains(environment["CARAVAN_NAT_RESTRICT"]?.lowercased() ?? "")
    var plan = MachinePlan(
      domainName: project.domainName(for: machine.name), projectRoot: project.root, machineName: machine.name,
      cpus: machine.cpus, memoryMiB: machine.memoryMiB, box: box, forwards: forwards, accelerator: accelerator,
      network: .userMode(restricted: restrict), machineType: machine.libvirt.machineType,
      cpuMode: machine.libvirt.cpuMode, nested: machine.libvirt.nested, pool: machine.libvirt.pool,
      sharedFolders: syncedFolders(machine).isEmpty
        ? [] : try syncer?.sharedFolders(machine, projectRoot: project.root) ?? [],
      attachments: interfaces.map(\.attachment))
    plan.devices = try machineDevices(machine, box: box)
    return plan
  }

  /// Says the accelerator `up` (or `box warm`) uses and why, and that `nested` has
  /// no effect under TCG: software emulation has no virtualisation extension to pass on.
  func reportAccelerator(_ machine: MachineSpec, _ choice: AcceleratorChoice) {
    reporter.step(machine.name, "accelerator: \(choice.accelerator.rawValue) (\(choice.reason))")
    if machine.libvirt.nested && choice.accelerator == .tcg {
      reporter.warning(
        "machine '\(machine.name)': `libvirt { nested true }` has no effect under TCG (software emulation): the guest gets no virtualisation extension (vmx/svm) and boots without one"
      )
    }
  }

  func reportForwards(_ name: String, _ forwards: [ResolvedForward]) {
    for (index, forward) in forwards.enumerated() {
      reporter.step(
        name, index == 0 ? "SSH: \(forward.hostIP):\(forward.host) -> \(forward.guest)" : "forward: \(forward)")
    }
  }

  /// The box the machine boots: the version its disk was made from; else the one
  /// `Machinefile.lock` names (installed from the lock's source if need be, its
  /// digests checked); else the newest installed that the box line admits, or one
  /// added now, which the lock then records.
  func resolveBox(_ machine: MachineSpec, existing: MachineRecord?, lock: BoxLocker? = nil) throws -> InstalledBox {
    guard let wanted = machine.box else {
      throw CaravanError(
        .invalidInput, "machine '\(machine.name)' names no box",
        hint: "Add a line like `box \"caravan/debian-12\"` to \(project.machinefilePath).")
    }
    let all = try boxes.list().filter { $0.name == wanted.name }
    // A machine keeps the box version its disk was made from.
    if let existing, let same = all.first(where: { $0.version == existing.boxVersion && $0.name == existing.boxName }) {
      if let lock, !lock.locked, lockedEntry(wanted, in: lock) == nil { recordInLock(same, wanted: wanted, lock) }
      return same
    }
    guard let lock else { return try resolveUnlocked(machine, wanted: wanted, installed: all) }
    if let entry = lockedEntry(wanted, in: lock) {
      return try lockedBox(machine, wanted: wanted, entry: entry, in: lock)
    }
    let box = try resolveUnlocked(machine, wanted: wanted, installed: all)
    if !lock.locked { recordInLock(box, wanted: wanted, lock) }
    return box
  }

  /// Adds the box to the lock; a box whose images cannot be read is left out, saying
  /// so (its import names what is wrong with it).
  private func recordInLock(_ box: InstalledBox, wanted: BoxRequirement, _ lock: BoxLocker) {
    do {
      lock.record(try lockEntry(for: box, wanted: wanted))
    } catch {
      reporter.warning(
        "box '\(box.name)' (\(box.version)) is not recorded in \(lock.shown): \(Lifecycle.oneLine(error))")
    }
  }

  private func resolveUnlocked(_ machine: MachineSpec, wanted: BoxRequirement, installed all: [InstalledBox]) throws
    -> InstalledBox
  {
    let constraint = wanted.version
    if let newest = all.last(where: { constraint?.matches($0.version) ?? true }) { return newest }
    let wording = "box '\(wanted.name)'" + (wanted.version.map { " (version \($0))" } ?? "")
    let installer = BoxInstaller(store: boxes, environment: environment)
    // An image index name (`box "debian/12"`) needs no url:; add resolves it through the index.
    guard let source = try wanted.url ?? (installer.isImageName(wanted.name) ? wanted.name : nil) else {
      let others = all.isEmpty ? "" : " Installed versions: \(all.map(\.version).joined(separator: ", "))."
      let images = (try? installer.imageIndex().names.joined(separator: ", ")) ?? "`caravan box add --list-images`"
      throw CaravanError(
        .notFound, "\(wording) is not installed",
        hint:
          "Add it with `caravan box add \(wanted.name) PATH/TO/FILE.box`, or give `url:` on the box line of the Machinefile, or name an image of the index (\(images)).\(others)"
      )
    }
    reporter.step(machine.name, "\(wording) is not installed; adding it from \(source)")
    installer.report(to: reporter, as: machine.name)
    var request = BoxInstaller.Request(
      source: source, name: wanted.name, version: wanted.version?.text, checksum: wanted.checksum,
      checksumURL: wanted.checksumURL)
    request.versionIsConstraint = true
    return try installer.add(request)
  }

  func allocatePorts(_ machine: MachineSpec, previous: MachineRecord?, avoiding avoided: Set<Int> = [])
    throws -> [ResolvedForward]
  {
    var allocator = try portAllocator(for: project.domainName(for: machine.name), avoiding: avoided)
    let wantedSSH = previous?.sshPort ?? 2222
    let ssh = try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: wantedSSH, autoCorrect: true, what: "SSH")
    if ssh != wantedSSH && previous != nil {
      reporter.step(machine.name, "host port \(wantedSSH) for SSH is in use; using \(ssh)")
    }
    var result = [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: ssh, guest: machine.ssh.port)]
    // A forward that was moved off a busy port keeps the port it was moved to.
    let before = previous?.forwards ?? []
    for forward in machine.forwards {
      let moved = before.first {
        $0.transport == forward.transport && $0.hostIP == forward.hostIP && $0.guest == forward.guest
          && $0.host != forward.host
      }
      let port = try allocator.allocate(
        forward.transport, hostIP: forward.hostIP, wanted: forward.host, autoCorrect: forward.autoCorrect,
        what: "forward \(forward.host) -> \(forward.guest)", preferring: moved?.host)
      if port != forward.host {
        reporter.step(
          machine.name,
          "host port \(forward.hostIP):\(forward.host) is in use; forwarding \(port) -> \(forward.guest) instead")
      }
      result.append(
        ResolvedForward(transport: forward.transport, hostIP: forward.hostIP, host: port, guest: forward.guest))
    }
    return result
  }
}
