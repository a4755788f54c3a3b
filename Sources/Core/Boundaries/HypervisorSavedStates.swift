import Boxes
import Foundation
import Spec
import Support

/// Saved memory (`suspend`/`resume`) and snapshots.
public protocol HypervisorSavedStates: AnyObject, Sendable {
  /// Saves the guest's memory to disk and stops the domain (libvirt managed
  /// save); its status becomes `.saved` and `start` continues it.
  func saveMemory(domain: String) throws
  /// Deletes the saved memory of a `.saved` domain, so it is powered off and
  /// the next `start` boots afresh; no error when there is none.
  func discardSavedMemory(domain: String) throws
  /// Lets a `.paused` domain run again.
  func unpause(domain: String) throws
  /// Takes an internal snapshot: disks and, when the guest runs, its memory.
  func createSnapshot(domain: String, name: String, description: String?) throws
  /// The domain's snapshots, oldest first.
  func snapshots(domain: String) throws -> [SnapshotInfo]
  /// Puts the domain back as the snapshot has it: running or stopped, as it was then.
  func revertToSnapshot(domain: String, name: String) throws
  /// The forwards QEMU binds when `state` is brought back (`start` of saved
  /// memory, a snapshot's revert), SSH first.
  func forwards(domain: String, in state: KeptState) throws -> [ResolvedForward]
  /// Moves `from` to `to`'s host port in `state` and in the domain's definition.
  func moveForward(domain: String, in state: KeptState, from: ResolvedForward, to: ResolvedForward) throws
  func deleteSnapshot(domain: String, name: String) throws
}

/// A snapshot of a machine as `snapshot list` shows it.
public struct SnapshotInfo: Sendable, Equatable {
  public var name: String
  public var createdAt: Date
  /// The machine's state when it was taken: `.running` (with memory), `.poweroff`, `.paused`.
  public var state: MachineStatus
  public var description: String?

  public init(name: String, createdAt: Date, state: MachineStatus, description: String? = nil) {
    self.name = name
    self.createdAt = createdAt
    self.state = state
    self.description = description
  }
}

/// A stopped machine's state that comes back with the forwards it was saved
/// with: its saved memory (`suspend`) or a snapshot.
public enum KeptState: Sendable, Equatable {
  case savedMemory
  case snapshot(String)
}
