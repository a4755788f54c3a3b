import Core
import Foundation
import Libvirt
import Support

/// Managed save (`suspend`/`resume`), internal snapshots and the list of every
/// Caravan domain (`global-status`).
extension LibvirtHypervisor: HypervisorSavedStates {
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

  public func forwards(domain: String, in state: KeptState) throws -> [ResolvedForward] {
    LibvirtHypervisor.forwards(inDomainXML: try keptXML(lookup(domain), state))
  }

  public func moveForward(domain: String, in state: KeptState, from: ResolvedForward, to: ResolvedForward) throws {
    let found = try lookup(domain)
    let kept = DomainDefinition.moving(from, to: to, in: try keptXML(found, state))
    switch state {
    case .savedMemory: try found.redefineManagedSave(xml: kept)
    case .snapshot(let name): try found.redefineSnapshot(xml: kept, name: name)
    }
    let definition = DomainDefinition.moving(from, to: to, in: try found.xml(inactive: true))
    try connection.defineDomain(xml: definition, name: domain)
  }

  /// The XML that brings `state` back: the saved image's definition, or the snapshot's.
  private func keptXML(_ domain: Domain, _ state: KeptState) throws -> String {
    switch state {
    case .savedMemory: return try domain.managedSaveXML()
    case .snapshot(let name): return try snapshot(domain.name, name).xml()
    }
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
