import Core
import Foundation
import Libvirt
import Support

/// Managed save (`suspend`/`resume`), internal snapshots and the list of every
/// Caravan domain (`global-status`).
extension LibvirtHypervisor {
  public func saveMemory(domain: String) throws {
    try lookup(domain).managedSave()
  }

  public func discardSavedMemory(domain: String) throws {
    guard let found = try connection.domain(named: domain), try found.hasManagedSaveImage() else { return }
    try found.removeManagedSave()
  }

  public func unpause(domain: String) throws {
    try lookup(domain).resume()
  }

  public func createSnapshot(domain: String, name: String, description: String?) throws {
    try lookup(domain).createSnapshot(name: name, description: description)
  }

  public func snapshots(domain: String) throws -> [SnapshotInfo] {
    try lookup(domain).snapshots().map { try $0.summary() }
      .sorted { ($0.creationTime, $0.name) < ($1.creationTime, $1.name) }
      .map { summary in
        SnapshotInfo(
          name: summary.name, createdAt: Date(timeIntervalSince1970: TimeInterval(summary.creationTime)),
          state: LibvirtHypervisor.status(snapshotState: summary.state), description: summary.description)
      }
  }

  /// A snapshot's `<state>` (libvirt's words) as a machine status.
  static func status(snapshotState: String) -> MachineStatus {
    switch snapshotState {
    case "running", "blocked": return .running
    case "paused": return .paused
    case "shutoff", "disk-snapshot": return .poweroff
    case "crashed": return .crashed
    case "shutdown": return .shuttingDown
    case "pmsuspended": return .suspended
    default: return .unknown
    }
  }

  public func revertToSnapshot(domain: String, name: String) throws {
    try prepareSession()
    try snapshot(domain, name).revert()
  }

  public func deleteSnapshot(domain: String, name: String) throws {
    try snapshot(domain, name).delete()
  }

  func snapshot(_ domain: String, _ name: String) throws -> DomainSnapshot {
    guard let found = try lookup(domain).snapshot(named: name) else {
      throw CaravanError(
        .notFound, "domain '\(domain)' has no snapshot '\(name)'",
        hint: "`caravan snapshot list` shows the snapshots there are.")
    }
    return found
  }

  public func caravanDomains() throws -> [CaravanDomain] {
    try connection.allDomains().compactMap { domain in
      try LibvirtError.unlessGone {
        guard let meta = try metadata(of: domain) else { return nil }
        return CaravanDomain(
          domain: domain.name, projectRoot: meta.project, machine: meta.machine, status: try status(of: domain))
      }
    }
  }
}
