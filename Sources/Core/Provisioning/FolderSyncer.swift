import Foundation
import Spec
import Support

/// A host folder the domain shares with the guest as a device (`sync …, type: 9p`
/// or `virtiofs`), resolved: the driver writes it into the domain as it is.
public struct SharedFolder: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case ninep
    /// With the virtiofsd binary that serves it.
    case virtiofs(daemon: String)
  }
  public var kind: Kind
  /// Absolute path on the host.
  public var hostPath: String
  /// The mount tag the guest mounts it by.
  public var tag: String

  public init(kind: Kind, hostPath: String, tag: String) {
    self.kind = kind
    self.hostPath = hostPath
    self.tag = tag
  }
}

/// Synced folders (`sync SRC -> DST`); the Provisioning module provides the real one.
/// Every method blocks; shared by the workers of a parallel `up`.
public protocol FolderSyncer: Sendable {
  /// `sync` when it acts on them.
  var support: SettingSupport { get }
  /// What must hold before `up` makes anything: host folders and tools (rsync,
  /// virtiofsd). Throws an error naming the machine, the folder, what is missing and the fix.
  func preflight(_ machine: MachineSpec, projectRoot: String) throws
  /// The folders the domain must share (9p, virtiofs), for its definition.
  func sharedFolders(_ machine: MachineSpec, projectRoot: String) throws -> [SharedFolder]
  /// Copies (rsync) or mounts (9p, virtiofs) one folder in the running guest.
  func sync(
    _ folder: SyncSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator,
    reporter: Reporter) throws
}

extension SyncSpec {
  /// How events and output name the folder: `./site -> /srv/site (rsync)`.
  public var summary: String { "\(source) -> \(destination) (\(kind.rawValue))" }
}
