import Boxes
import Foundation
import Host
import Spec
import Support

/// What a pushed warm state carries besides its volume: the box it was made of (by its
/// image's digest: the volume's name differs between Caravan homes) and its record.
public struct WarmStateRecord: Codable, Equatable, Sendable {
  public var box: String
  public var boxVersion: String
  public var boxDigest: String?
  public var state: WarmState
}

/// Warm states travel (`box warm --push/--pull`): for runners that share a host image,
/// one makes the state and the others pull it. A pulled state is checked exactly like
/// a local one (QEMU and libvirt versions, machine type, CPU, layout, memory and CPUs,
/// and the box image it was made of); one that does not fit is refused with the reason
/// and nothing is installed, so the next warm `up` makes its own instead of loading a
/// state that cannot work.
extension Lifecycle {
  /// Pushes the box's state in `machine`'s pool (made first, or found fitting, by `warmBox`).
  public func pushWarmState(_ box: InstalledBox, state: WarmState, to reference: OCIReference) throws
    -> OCIBox.Pushed
  {
    let file = try warmStates.warmStateFile(state)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let record = try encoder.encode(
      WarmStateRecord(box: box.name, boxVersion: box.version, boxDigest: box.digest, state: state))
    // Its lock, shared: no `up` replaces the state while it is read.
    let lock = try FileLock(path: warmLockPath(box, pool: state.pool), shared: true)
    defer { lock.unlock() }
    return try OCIWarmState.push(
      file: file, record: record, box: box, to: reference, environment: environment,
      step: { reporter.step("warm", $0) })
  }

  /// Pulls the state at `reference` for `box`, checks that it fits this host and the box,
  /// and installs it as the box's state in `machine`'s pool (replacing the one there).
  public func pullWarmState(_ box: InstalledBox, machine: MachineSpec, from reference: OCIReference) throws
    -> WarmState
  {
    try preflight()
    let pulled = try OCIWarmState.pull(
      reference, into: boxes.partialBlobs, environment: environment, step: { reporter.step(machine.name, $0) })
    defer { try? FileManager.default.removeItem(atPath: pulled.file) }
    let record: WarmStateRecord
    do {
      record = try JSONDecoder().decode(WarmStateRecord.self, from: pulled.record)
    } catch {
      throw CaravanError(.invalidInput, "the record of the warm state at \(reference) cannot be read: \(error)")
    }
    var fingerprint = record.state.fingerprint
    let wording = "the warm state at \(reference)"
    guard record.boxDigest == box.digest else {
      throw CaravanError(
        .conflict,
        "\(wording) was made of another image of the box (\(record.box) \(record.boxVersion), image \(record.boxDigest ?? "unknown")) than the installed '\(box.name)' (\(box.version), image \(box.digest ?? "unknown")); nothing was installed",
        hint:
          "Pull the box it was made of (`caravan box add NAME oci://…`), or make a state here with `caravan box warm \(box.name)`."
      )
    }
    fingerprint.boxVolume = box.volumeName
    var fitted = machine
    fitted.cpus = fingerprint.cpus
    fitted.memoryBytes = fingerprint.memoryMiB << 20
    if let user = fingerprint.seedUser { fitted.ssh.user = user }
    let choice = try hypervisor.chooseAccelerator(fitted.libvirt.accel)
    let plan = try machinePlan(fitted, box: box, accelerator: choice.accelerator, forwards: [], interfaces: [])
    let wanted = try warmFingerprint(fitted, plan: plan)
    if let mismatch = fingerprint.mismatch(wanted) {
      throw CaravanError(
        .conflict, "\(wording) does not fit this host: \(mismatch); nothing was installed",
        hint: "A warm `up` here boots cold and makes its own state (or `caravan box warm \(box.name)` makes it now).")
    }
    let pool = try warmStates.effectivePool(plan.pool)
    let lock = try FileLock(path: warmLockPath(box, pool: pool))
    defer { lock.unlock() }
    try discardWarmState(box, uri: hypervisor.uri, pool: pool)
    reporter.step(machine.name, "installing the warm state in pool '\(pool)'")
    let imported = try warmStates.importWarmState(pulled.file, box: box, pool: pool)
    let state = WarmState(
      uri: hypervisor.uri, pool: pool, volume: imported.volume, fingerprint: fingerprint,
      sizeBytes: imported.sizeBytes, guestSSHPort: record.state.guestSSHPort)
    try WarmStateFiles.write(state, for: box)
    return state
  }
}
