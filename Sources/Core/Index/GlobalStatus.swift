import Foundation
import Support

/// `caravan global-status`: every project in the index with each machine's
/// state asked live from libvirt, and every Caravan domain libvirt has that no
/// indexed project names, so nothing is hidden.
public struct GlobalStatus: Sendable {
  public struct Machine: Sendable, Equatable {
    public var name: String
    public var domain: String
    /// nil when libvirt could not be asked (see `Project.error`).
    public var status: MachineStatus?
  }

  public struct Project: Sendable {
    public var entry: ProjectIndex.Entry
    public var folderExists: Bool
    public var machines: [Machine]
    /// Why libvirt could not be asked, when it could not.
    public var error: String?

    /// Nothing left of it: its folder is gone, or libvirt has none of its
    /// domains. Never true when libvirt could not be asked.
    public var isGone: Bool {
      guard error == nil else { return false }
      return !folderExists || machines.allSatisfy { $0.status == .notCreated }
    }
  }

  /// A Caravan domain that no indexed project names, and the connection it is on.
  public struct Unindexed: Sendable, Equatable {
    public var uri: String
    public var domain: CaravanDomain
  }

  public var projects: [Project]
  public var unindexed: [Unindexed]
  /// Connections that could not be asked, with why.
  public var unreachable: [String: String]

  /// Asks libvirt about every project of `index`, on the connection each was
  /// made on, and lists the Caravan domains of those connections and of
  /// `alsoScan` (the default connection) that no entry names.
  public static func check(
    index: ProjectIndex, alsoScan: [String], connect: (String) throws -> Hypervisor
  ) throws -> GlobalStatus {
    let entries = try index.load()
    var uris: [String] = []
    for uri in alsoScan + entries.map(\.libvirtURI) where !uris.contains(uri) { uris.append(uri) }
    var domainsByURI: [String: [CaravanDomain]] = [:]
    var hypervisors: [String: Hypervisor] = [:]
    var unreachable: [String: String] = [:]
    for uri in uris {
      do {
        let hypervisor = try connect(uri)
        hypervisors[uri] = hypervisor
        domainsByURI[uri] = try hypervisor.caravanDomains()
      } catch {
        unreachable[uri] = (error as? CaravanError)?.message ?? "\(error)"
      }
    }
    var projects: [Project] = []
    for entry in entries {
      let folderExists = FileSystem.exists(entry.root)
      guard let hypervisor = hypervisors[entry.libvirtURI], let known = domainsByURI[entry.libvirtURI] else {
        projects.append(
          Project(
            entry: entry, folderExists: folderExists,
            machines: entry.machines.map { Machine(name: $0.name, domain: $0.domain, status: nil) },
            error: unreachable[entry.libvirtURI]))
        continue
      }
      let machines = try entry.machines.map { machine in
        let status =
          try known.first { $0.domain == machine.domain }?.status ?? hypervisor.status(domain: machine.domain)
        return Machine(name: machine.name, domain: machine.domain, status: status)
      }
      projects.append(Project(entry: entry, folderExists: folderExists, machines: machines, error: nil))
    }
    var unindexed: [Unindexed] = []
    for uri in uris {
      let named = Set(entries.filter { $0.libvirtURI == uri }.flatMap { $0.machines.map(\.domain) })
      for domain in domainsByURI[uri] ?? [] where !named.contains(domain.domain) {
        unindexed.append(Unindexed(uri: uri, domain: domain))
      }
    }
    return GlobalStatus(projects: projects, unindexed: unindexed, unreachable: unreachable)
  }

  /// Drops from `index` the projects this check found gone; returns them.
  @discardableResult
  public func prune(_ index: ProjectIndex) throws -> [ProjectIndex.Entry] {
    let gone = projects.filter(\.isGone).map(\.entry)
    guard !gone.isEmpty else { return [] }
    try index.update { entries in
      entries.removeAll { entry in gone.contains { $0.isSame(entry) } }
    }
    return gone
  }
}
