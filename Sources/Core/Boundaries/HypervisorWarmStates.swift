import Boxes
import Foundation
import Spec
import Support

/// Warm starts (`up --warm`, `box warm`): a box's saved running state.
public protocol HypervisorWarmStates: AnyObject, Sendable {
  /// The storage pool a machine asking for `pool` (nil: the default) uses.
  func effectivePool(_ pool: String?) -> String
  /// What a warm state must have been made for to start the machine of `plan`.
  func warmFingerprint(for plan: MachinePlan) throws -> WarmFingerprint
  /// The state's size on disk now; nil when its volume is gone.
  func warmStateSize(_ state: WarmState) throws -> UInt64?
  /// Defines and starts the template of `plan` (named `plan.domainName`, its
  /// first forward SSH) on a new overlay of the box, which becomes the state.
  func startWarmTemplate(_ plan: MachinePlan, progress: (String) -> Void) throws
  /// Takes the running template's disk and memory into its overlay, powers it
  /// off and undefines it; the overlay stays as the state's volume.
  func captureWarmState(template plan: MachinePlan) throws -> (volume: String, pool: String, sizeBytes: UInt64)
  /// Removes the template domain `template` (if any) and the box's state
  /// volume in `pool`; no error when they are gone.
  func removeWarmState(box: InstalledBox, pool: String, template: String) throws
  /// Removes a template domain and the unfinished state volume its metadata
  /// names (what a killed `up` left); no error when it is gone.
  func removeWarmTemplate(_ domain: String) throws
  /// Defines the machine of `plan` (without its extra NICs) on a copy of the
  /// state, with libvirt told of the snapshot in it; does not start it.
  /// Returns the domain's UUID.
  func defineWarm(_ plan: MachinePlan, from state: WarmState) throws -> String
  /// Starts a machine `defineWarm` made from the saved memory, hot-plugs the
  /// plan's extra NICs (kept for later boots) and deletes the snapshot from its disk.
  func startWarm(_ plan: MachinePlan) throws
  /// The state's volume as a file on this host (`box warm --push` reads it).
  func warmStateFile(_ state: WarmState) throws -> String
  /// Makes `file`, a state made elsewhere (`box warm --pull`), the box's state volume in
  /// `pool`: its backing file set to this host's volume of the box, then written into the
  /// pool. Returns the volume's name and its size on disk.
  func importWarmState(_ file: String, box: InstalledBox, pool: String) throws -> (volume: String, sizeBytes: UInt64)
}

extension HypervisorWarmStates {
  public func warmStateFile(_ state: WarmState) throws -> String {
    throw CaravanError(.invalidInput, "this hypervisor cannot read a warm state as a file")
  }
  public func importWarmState(_ file: String, box: InstalledBox, pool: String) throws -> (
    volume: String, sizeBytes: UInt64
  ) {
    throw CaravanError(.invalidInput, "this hypervisor cannot take in a warm state made elsewhere")
  }
}
