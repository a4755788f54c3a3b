import Boxes
import Core
import Foundation
import Host
import Libvirt
import Support

/// Warm starts. A box's saved state is a qcow2 overlay of the box volume, in the
/// same pool, whose internal snapshot `caravan-warm` holds the disk and memory of
/// a template guest taken right after its SSH first answered. A machine gets a
/// copy of that overlay as its own disk (reflinked where the file system can),
/// libvirt is told of the snapshot in it, and reverting to it starts QEMU with
/// `-loadvm`: the guest runs on in seconds, with its own domain, UUID and ports.
/// (`virsh restore` of a saved file would not do: it refuses a domain whose UUID
/// is not the one it was saved from.)
extension LibvirtHypervisor: HypervisorWarmStates {
  static let warmSnapshot = WarmState.snapshotName

  /// The state's volume: named after the box volume, so `box remove` finds it and
  /// nothing takes it for a machine that uses the box.
  static func warmVolumeName(_ box: InstalledBox) -> String { warmVolumeName(boxVolume: box.volumeName) }
  static func warmVolumeName(boxVolume: String) -> String { boxVolume + ".warm.qcow2" }

  public func effectivePool(_ pool: String?) -> String { pool ?? defaultPool ?? BoxPool.defaultName }

  public func warmFingerprint(for plan: MachinePlan) throws -> WarmFingerprint {
    // Only what the guest sees: no names, ports, paths or extra NICs (hot-plugged after).
    var neutral = plan
    neutral.domainName = "warm"
    neutral.projectRoot = ""
    neutral.machineName = ""
    neutral.forwards = []
    neutral.sharedFolders = []
    neutral.attachments = []
    let disks = plan.box.metadata.disks.indices.map { index in
      DomainDefinition.Disk(
        pool: "", volume: "", target: DomainDefinition.diskTarget(index), bus: "virtio")
    }
    // The seed's CD-ROM (an image box) is part of the guest's hardware.
    let devices = LibvirtHypervisor.deviceDisks(neutral, pool: "", boxDisks: disks.count)
    var definition = try domainDefinition(neutral, pool: "", disks: disks + devices, uuid: nil)
    definition.consoleLog = nil
    definition.metadata = .init(project: "", machine: "", pool: "", box: "", boxVersion: "", boxVolume: "")
    return WarmFingerprint(
      boxVolume: plan.box.volumeName, memoryMiB: plan.memoryMiB, cpus: plan.cpus,
      machineType: plan.machineType ?? "pc", cpuMode: definition.cpuMode, accelerator: plan.accelerator.rawValue,
      qemuVersion: try connection.hypervisorVersion().map(LibvirtHypervisor.versionText) ?? "unknown",
      libvirtVersion: LibvirtHypervisor.versionText(try connection.libvirtVersion()),
      layout: StableHash.hex(definition.xml, length: 16))
  }

  /// libvirt's 7002000 as "7.2.0".
  static func versionText(_ version: UInt) -> String {
    "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
  }

  public func warmStateSize(_ state: WarmState) throws -> UInt64? {
    guard let pool = try connection.pool(named: state.pool), try pool.isActive() else { return nil }
    return try pool.volume(named: state.volume)?.info().allocation
  }

  public func startWarmTemplate(_ plan: MachinePlan, progress: (String) -> Void) throws {
    let boxes = BoxPool(connection: connection, name: effectivePool(plan.pool))
    try prepareSession(pool: boxes.name)
    let boxVolumes = try boxes.importBox(plan.box, lockDirectory: lockDirectory, progress: progress)
    let pool = try boxes.ensure()
    let volume = LibvirtHypervisor.warmVolumeName(plan.box)
    try pool.refresh()
    try pool.volume(named: volume)?.delete()
    try createOverlay(named: volume, on: boxVolumes[0], in: pool)
    let disk = DomainDefinition.Disk(pool: boxes.name, volume: volume, target: "vda", bus: "virtio")
    let devices = LibvirtHypervisor.deviceDisks(plan, pool: boxes.name, boxDisks: 1)
    let definition = try domainDefinition(plan, pool: boxes.name, disks: [disk] + devices, uuid: nil)
    // Defined first: a kill from here leaves a template that `destroy` removes with its seed.
    let template = try connection.defineDomain(xml: definition.xml, name: plan.domainName)
    try writeSeed(plan, in: pool)
    try template.start()
  }

  public func captureWarmState(template plan: MachinePlan) throws -> (volume: String, pool: String, sizeBytes: UInt64) {
    let template = try lookup(plan.domainName)
    try template.createSnapshot(name: LibvirtHypervisor.warmSnapshot)
    try template.destroy()
    // Forgets the snapshot's metadata only: its data stays in the overlay.
    try template.undefine()
    let poolName = effectivePool(plan.pool)
    // Its seed was read: each copy gets the seed of its own machine.
    try deleteVolume(LibvirtHypervisor.seedName(plan.domainName), pool: poolName)
    let volumeName = LibvirtHypervisor.warmVolumeName(plan.box)
    guard let pool = try connection.pool(named: poolName) else {
      throw CaravanError(.hypervisor, "storage pool '\(poolName)' went away while the warm state was saved")
    }
    try pool.refresh()
    guard let volume = try pool.volume(named: volumeName) else {
      throw CaravanError(.hypervisor, "the warm state's volume '\(volumeName)' went away from pool '\(poolName)'")
    }
    if LibvirtURI.isLocalURI(uri) {
      try? FileManager.default.removeItem(atPath: consoleLogPath(domain: plan.domainName))
    }
    return (volumeName, poolName, try volume.info().allocation)
  }

  public func removeWarmState(box: InstalledBox, pool: String, template: String) throws {
    _ = try removeTemplateDomain(template)
    try deleteVolume(LibvirtHypervisor.warmVolumeName(box), pool: pool)
    try deleteVolume(LibvirtHypervisor.seedName(template), pool: pool)
  }

  public func removeWarmTemplate(_ domain: String) throws {
    guard let meta = try removeTemplateDomain(domain) else { return }
    try deleteVolume(LibvirtHypervisor.warmVolumeName(boxVolume: meta.boxVolume), pool: meta.pool)
    try deleteVolume(LibvirtHypervisor.seedName(domain), pool: meta.pool)
  }

  /// Powers off and undefines a template domain and deletes its console log;
  /// returns its Caravan metadata (nil when there was no such domain).
  private func removeTemplateDomain(_ name: String) throws -> DomainDefinition.Metadata? {
    guard let found = try connection.domain(named: name) else { return nil }
    let meta = try metadata(of: found)
    if try found.state() != .shutoff { try found.destroy() }
    try found.undefine()
    if LibvirtURI.isLocalURI(uri) { try? FileManager.default.removeItem(atPath: consoleLogPath(domain: name)) }
    return meta
  }

  /// Deletes `volume` from `pool` when both are there.
  private func deleteVolume(_ volume: String, pool poolName: String) throws {
    guard let pool = try connection.pool(named: poolName), try pool.isActive() else { return }
    try pool.refresh()
    try pool.volume(named: volume)?.delete()
  }

  public func defineWarm(_ plan: MachinePlan, from state: WarmState) throws -> String {
    guard LibvirtURI.isLocalURI(uri) else {
      throw CaravanError(
        .invalidInput, "a warm start copies the saved state by path, which needs libvirt on this machine (not \(uri))")
    }
    let boxes = BoxPool(connection: connection, name: state.pool)
    let pool = try boxes.ensure()
    try pool.refresh()
    guard let source = try pool.volume(named: state.volume) else {
      throw CaravanError(.notFound, "the warm state's volume '\(state.volume)' is gone from pool '\(state.pool)'")
    }
    let overlay = LibvirtHypervisor.overlayName(plan.domainName)
    try pool.volume(named: overlay)?.delete()
    let sourcePath = try source.path()
    let target = (sourcePath as NSString).deletingLastPathComponent + "/" + overlay
    // Reflinked where the file system can (btrfs, XFS); a sparse copy elsewhere.
    let copy = try Subprocess(["cp", "--reflink=auto", "--sparse=always", sourcePath, target]).run()
    guard copy.status == 0 else {
      try? FileManager.default.removeItem(atPath: target)
      throw CaravanError(
        .hypervisor,
        "could not copy the warm state '\(sourcePath)' to '\(target)': \(copy.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    try pool.refresh()
    // Without the extra NICs: the saved guest has none, and they are hot-plugged after.
    var saved = plan
    saved.attachments = []
    let disk = DomainDefinition.Disk(pool: boxes.name, volume: overlay, target: "vda", bus: "virtio")
    let devices = LibvirtHypervisor.deviceDisks(saved, pool: boxes.name, boxDisks: 1)
    let existing = try connection.domain(named: plan.domainName)
    let definition = try domainDefinition(
      saved, pool: boxes.name, disks: [disk] + devices, uuid: try existing?.uuid())
    let domain = try connection.defineDomain(xml: definition.xml, name: plan.domainName)
    // The machine's own seed in the CD-ROM the saved guest has (read again at its next boot).
    try writeSeed(plan, in: pool)
    let snapshot = """
      <domainsnapshot>
        <name>\(LibvirtHypervisor.warmSnapshot)</name>
        <state>running</state>
        <creationTime>\(Int(Date().timeIntervalSince1970))</creationTime>
        <memory snapshot='internal'/>
        <disks><disk name='vda' snapshot='internal'/></disks>
        \(try domain.xml(inactive: true))
      </domainsnapshot>
      """
    try domain.redefineSnapshot(xml: snapshot, name: LibvirtHypervisor.warmSnapshot)
    return try domain.uuid()
  }

  public func startWarm(_ plan: MachinePlan) throws {
    try prepareSession()
    let domain = try lookup(plan.domainName)
    guard let snapshot = try domain.snapshot(named: LibvirtHypervisor.warmSnapshot) else {
      throw CaravanError(.notFound, "domain '\(plan.domainName)' has no warm snapshot to start from")
    }
    try snapshot.revert()
    for (index, attachment) in plan.attachments.enumerated() {
      try domain.attachDevice(
        xml: DomainDefinition.interface(attachment, index: index).render(), what: "the NIC \(attachment.mac)")
    }
    // The saved memory leaves the machine's disk; libvirt forgets the snapshot.
    try snapshot.delete()
  }

  public func warmStateFile(_ state: WarmState) throws -> String {
    guard LibvirtURI.isLocalURI(uri) else {
      throw CaravanError(
        .invalidInput, "the warm state is on another host (\(uri)); push it from the libvirt host itself")
    }
    guard let pool = try connection.pool(named: state.pool), try pool.isActive() else {
      throw CaravanError(.notFound, "storage pool '\(state.pool)' of the warm state is gone")
    }
    try pool.refresh()
    guard let volume = try pool.volume(named: state.volume) else {
      throw CaravanError(
        .notFound, "the warm state's volume '\(state.volume)' is gone from pool '\(state.pool)'",
        hint: "`caravan box warm` makes it anew.")
    }
    return try volume.path()
  }

  public func importWarmState(_ file: String, box: InstalledBox, pool poolName: String) throws -> (
    volume: String, sizeBytes: UInt64
  ) {
    let boxes = BoxPool(connection: connection, name: poolName)
    try prepareSession(pool: boxes.name)
    let boxVolumes = try boxes.importBox(box, lockDirectory: lockDirectory, progress: { _ in })
    // The state's qcow2 names the box image it was made over by path: this host's now.
    let rebase = try Subprocess([
      "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", try boxVolumes[0].path(), file,
    ]).run()
    guard rebase.status == 0 else {
      throw CaravanError(
        .io, "the pulled warm state is not a qcow2 image qemu-img can rebase",
        hint: rebase.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let pool = try boxes.ensure()
    let name = LibvirtHypervisor.warmVolumeName(box)
    try pool.refresh()
    try pool.volume(named: name)?.delete()
    let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value ?? 0
    let xml = """
      <volume>
        <name>\(name)</name>
        <capacity unit='bytes'>\(max(try boxVolumes[0].info().capacity, size))</capacity>
        <allocation unit='bytes'>0</allocation>
        <target><format type='qcow2'/></target>
      </volume>
      """
    let volume = try pool.createVolume(xml: xml, name: name)
    do {
      try volume.upload(fromFile: file)
      try pool.refresh()
    } catch {
      try? volume.delete()
      throw error
    }
    return (name, try volume.info().allocation)
  }
}
