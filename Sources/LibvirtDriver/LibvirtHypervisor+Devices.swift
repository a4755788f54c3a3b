import Core
import Foundation
import Libvirt
import Spec
import Support

/// A machine's devices beyond the box's disks, in its pool: the root disk's size
/// (`disk`), blank volumes (`volume`) and the cloud-init seed, each named after the
/// domain so `remove` finds them without the domain.
extension LibvirtHypervisor {
  /// The cloud-init seed's volume: `DOMAIN-cidata.iso`.
  static func seedName(_ domain: String) -> String { domain + "-cidata.iso" }

  /// A `volume`'s disk: `DOMAIN-volume-NAME.qcow2`.
  static func volumeName(_ domain: String, _ volume: String) -> String { domain + "-volume-" + volume + ".qcow2" }

  /// What the guest reads as a volume's serial (`/dev/disk/by-id/virtio-caravan-data`);
  /// virtio and ATA disks carry 20 characters of it.
  static func volumeSerial(_ volume: String) -> String { String(("caravan-" + volume).prefix(20)) }

  /// The disks after the box's `boxDisks`: the volumes in file order (virtio ones
  /// as vd…, after the box's; SCSI and SATA ones as sd…), then the seed as a SCSI
  /// CD-ROM on virtio-scsi, on every machine type: q35 has no IDE, a cloud kernel
  /// (Debian's among them) has virtio-scsi but no AHCI, so a SATA CD-ROM goes unseen,
  /// and an IDE one on i440fx went unseen under OVMF.
  static func deviceDisks(_ plan: MachinePlan, pool: String, boxDisks: Int) -> [DomainDefinition.Disk] {
    var virtio = boxDisks
    var sd = 0
    var disks: [DomainDefinition.Disk] = []
    for volume in plan.devices.volumes {
      let target: String
      if volume.bus == .virtio {
        target = DomainDefinition.diskTarget(virtio)
        virtio += 1
      } else {
        target = "sd" + letter(sd)
        sd += 1
      }
      disks.append(
        DomainDefinition.Disk(
          pool: pool, volume: volumeName(plan.domainName, volume.name), target: target, bus: volume.bus.rawValue,
          serial: volumeSerial(volume.name)))
    }
    if plan.devices.seed != nil {
      disks.append(
        DomainDefinition.Disk(
          pool: pool, volume: seedName(plan.domainName), target: "sd" + letter(sd), bus: "scsi", cdrom: true))
    }
    return disks
  }

  private static func letter(_ index: Int) -> String { String(UnicodeScalar(UInt8(97 + index))) }

  /// The root disk's virtual size: the box's, or `disk`'s when larger; a smaller
  /// `disk` is refused naming both.
  static func rootCapacity(_ plan: MachinePlan, boxCapacity: UInt64) throws -> UInt64 {
    guard let wanted = plan.devices.rootDiskBytes else { return boxCapacity }
    guard wanted >= boxCapacity else {
      throw CaravanError(
        .invalidInput,
        "machine '\(plan.machineName)': `disk \(sizeLiteral(wanted))` is smaller than the root disk of box '\(plan.box.name)' (\(sizeLiteral(boxCapacity))); a disk is never shrunk",
        hint: "Set `disk` to \(sizeLiteral(boxCapacity)) or more, or remove the line to keep the box's size.")
    }
    return wanted
  }

  /// A size as the Machinefile writes it: `20GiB`, `512MiB`, else bytes.
  static func sizeLiteral(_ bytes: UInt64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes % (1 << shift) == 0 {
      return "\(bytes >> shift)\(unit)"
    }
    return "\(bytes)B"
  }

  /// Grows the machine's existing root disk to `capacity` (the domain is off: `up`
  /// defines it before each boot); never shrinks it.
  func growRootDisk(_ disk: Volume, to capacity: UInt64, progress: (String) -> Void) throws {
    let current = try disk.info().capacity
    guard capacity > current else { return }
    progress("growing disk '\(disk.name)' from \(ByteSize.text(current)) to \(ByteSize.text(capacity))")
    try disk.resize(capacity: capacity)
  }

  /// Makes the volumes the pool lacks (a kept one is used again as it is).
  func createVolumes(_ plan: MachinePlan, in pool: StoragePool, progress: (String) -> Void) throws {
    for volume in plan.devices.volumes {
      let name = LibvirtHypervisor.volumeName(plan.domainName, volume.name)
      if let existing = try pool.volume(named: name) {
        if try existing.info().capacity < volume.sizeBytes {
          progress("growing volume '\(volume.name)' to \(ByteSize.text(volume.sizeBytes))")
          try existing.resize(capacity: volume.sizeBytes)
        }
        continue
      }
      progress("creating volume '\(volume.name)' (\(ByteSize.text(volume.sizeBytes)), \(volume.bus.rawValue))")
      let xml = """
        <volume>
          <name>\(name)</name>
          <capacity unit='bytes'>\(volume.sizeBytes)</capacity>
          <target><format type='qcow2'/></target>
        </volume>
        """
      _ = try pool.createVolume(xml: xml, name: name)
    }
  }

  /// Writes the seed into its volume, made anew each time the domain is defined (the
  /// Machinefile's `cloud_init` may have changed; cloud-init reads it again only for a
  /// new instance id). Removes a seed a machine no longer has.
  func writeSeed(_ plan: MachinePlan, in pool: StoragePool) throws {
    let name = LibvirtHypervisor.seedName(plan.domainName)
    if let old = try pool.volume(named: name) { try old.delete() }
    guard let seed = plan.devices.seed else { return }
    let xml = """
      <volume>
        <name>\(name)</name>
        <capacity unit='bytes'>\(seed.count)</capacity>
        <target><format type='raw'/><permissions><mode>0600</mode></permissions></target>
      </volume>
      """
    let volume = try pool.createVolume(xml: xml, name: name)
    do {
      try volume.upload(seed)
    } catch {
      try? volume.delete()
      throw error
    }
  }

  /// Whether a pool volume is one of the domain's (its disk, the box's other disks'
  /// overlays, a volume, the seed), and which `volume` it is.
  static func machineVolume(_ name: String, of domain: String) -> (isMachine: Bool, volume: String?) {
    if name == overlayName(domain) || name == seedName(domain) { return (true, nil) }
    // What a killed `caravan package` left of its copy of the machine.
    if name.hasPrefix(Lifecycle.packageCopyName(domain)) { return (true, nil) }
    if name.hasPrefix(domain + "-disk") && name.hasSuffix(".qcow2") { return (true, nil) }
    let prefix = domain + "-volume-"
    if name.hasPrefix(prefix) && name.hasSuffix(".qcow2") {
      return (true, String(name.dropFirst(prefix.count).dropLast(".qcow2".count)))
    }
    return (false, nil)
  }
}
