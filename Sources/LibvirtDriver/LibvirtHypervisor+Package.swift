import Core
import Foundation
import Host
import Libvirt
import Spec
import Support

/// `caravan package`'s copy of a machine: a persistent domain on a new overlay over
/// the machine's disk (so the machine's own disk is only read), started so that
/// libvirt destroys it when this connection closes. A killed `package` leaves the
/// stopped definition and its volumes, named after the machine's domain: the next
/// `package` and the machine's `destroy` remove them.
extension LibvirtHypervisor: HypervisorPackaging {
  /// (`Lifecycle.package` refuses a machine on a remote libvirt before it gets here.)
  public func startPackageCopy(_ plan: MachinePlan, of machine: String) throws {
    try removePackageCopy(plan.domainName, pool: plan.pool)
    let boxes = BoxPool(connection: connection, name: effectivePool(plan.pool))
    let pool = try boxes.ensure()
    try pool.refresh()
    guard let disk = try pool.volume(named: LibvirtHypervisor.overlayName(machine)) else {
      throw CaravanError(
        .notFound,
        "machine '\(plan.machineName)' has no disk '\(LibvirtHypervisor.overlayName(machine))' in pool '\(boxes.name)'",
        hint:
          "It was removed outside Caravan; `caravan destroy -f \(plan.machineName)` and `caravan up` make the machine anew."
      )
    }
    let overlay = LibvirtHypervisor.overlayName(plan.domainName)
    try createOverlay(named: overlay, on: disk, in: pool)
    let disks =
      [DomainDefinition.Disk(pool: boxes.name, volume: overlay, target: "vda", bus: "virtio")]
      + LibvirtHypervisor.deviceDisks(plan, pool: boxes.name, boxDisks: 1)
    let definition = try domainDefinition(plan, pool: boxes.name, disks: disks, uuid: nil)
    let copy = try connection.defineDomain(xml: definition.xml, name: plan.domainName)
    try writeSeed(plan, in: pool)
    try copy.startAutodestroyed()
  }

  public func exportPackageCopy(_ plan: MachinePlan, to path: String) throws -> UInt64 {
    let poolName = effectivePool(plan.pool)
    guard let pool = try connection.pool(named: poolName) else {
      throw CaravanError(.hypervisor, "storage pool '\(poolName)' went away while the machine was packaged")
    }
    try pool.refresh()
    let name = LibvirtHypervisor.overlayName(plan.domainName)
    guard let volume = try pool.volume(named: name) else {
      throw CaravanError(.hypervisor, "the packaged copy's disk '\(name)' went away from pool '\(poolName)'")
    }
    let capacity = try volume.info().capacity
    // Flattened (the chain down to the box's image read as one disk), zstd as `caravan build` writes.
    let convert = Subprocess([
      "qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "-f", "qcow2", try volume.path(), path,
    ])
    let result = try convert.run()
    guard result.status == 0 else {
      throw CaravanError(
        .io, "could not write the packaged disk \(path): qemu-img exited \(result.status)",
        hint: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return capacity
  }

  public func removePackageCopy(_ domain: String, pool: String?) throws {
    try remove(domain: domain, keepLogs: false, keepVolumes: [], pool: effectivePool(pool))
  }
}
