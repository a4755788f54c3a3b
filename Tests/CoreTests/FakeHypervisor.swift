import Boxes
import Foundation
import Host
import Spec
import Support

@testable import Core

/// The in-memory hypervisor with every capability: `FakeMachines` and saved memory,
/// snapshots, networks and warm states, each in an extension of its own.
final class FakeHypervisor: FakeMachines, HypervisorSavedStates, HypervisorNetworks, HypervisorWarmStates,
  @unchecked Sendable
{
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  // Saved memory and snapshots.
  @Guarded var snapshotsByDomain: [String: [SnapshotInfo]] = [:]
  /// The domain runs by the time `unpause` reaches libvirt (a restore a killed `up` started
  /// finished meanwhile): it fails as libvirt does.
  @Guarded var runsBeforeUnpause = false
  /// `unpause` fails and the domain stays paused.
  @Guarded var failingUnpause = false
  /// Snapshot names whose creation fails (as a full disk or a blocked memory save would).
  @Guarded var failingSnapshots: Set<String> = []

  // Networks: Caravan's (from `ensureNetwork`) and the host's (set by a test), with their users from the plans.
  @Guarded var networks: [String: ExistingNetwork] = [:]
  @Guarded var routes: [HostRoute]? = []
  @Guarded var bridges: [String]? = []

  // Warm starts: a state is a name in `warmVolumes`; a template is a domain that runs.
  @Guarded var warmVolumes: Set<String> = []
  @Guarded var warmFingerprintVersion = "7.2.0"
  /// When set, `startWarm` fails with it (as QEMU does on a damaged state).
  @Guarded var warmStartFailure: String? = nil
  /// Runs as a warm start begins (what another `up` does meanwhile).
  @Guarded var onStartWarm: @Sendable () -> Void = {}
}

/// Saved memory (suspend, resume), kept states' forwards, snapshots.
extension FakeHypervisor {
  func forwards(domain: String, in state: KeptState) throws -> [ResolvedForward] {
    plans.last(where: { $0.domainName == domain })?.forwards ?? []
  }
  func moveForward(domain: String, in state: KeptState, from: ResolvedForward, to: ResolvedForward) throws {
    calls.append("move \(domain) \(from.host) \(to.host)")
    guard var plan = plans.last(where: { $0.domainName == domain }) else { throw CaravanError(.notFound, domain) }
    plan.forwards = plan.forwards.map { $0 == from ? to : $0 }
    plans.append(plan)
  }
  func saveMemory(domain: String) throws {
    calls.append("save \(domain)")
    domains[domain]?.status = .saved
  }
  func discardSavedMemory(domain: String) throws {
    calls.append("discard \(domain)")
    if domains[domain]?.status == .saved { domains[domain]?.status = .poweroff }
  }
  func unpause(domain: String) throws {
    calls.append("unpause \(domain)")
    if failingUnpause { throw CaravanError(.hypervisor, "libvirt could not resume domain '\(domain)'") }
    if runsBeforeUnpause {
      domains[domain]?.status = .running
      throw CaravanError(
        .hypervisor,
        "libvirt could not resume domain '\(domain)': Requested operation is not valid: domain is already running")
    }
    domains[domain]?.status = .running
  }
  func createSnapshot(domain: String, name: String, description: String?) throws {
    calls.append("snapshot \(domain) \(name)")
    if failingSnapshots.contains(name) { throw CaravanError(.io, "could not take snapshot '\(name)'") }
    if snapshotsByDomain[domain]?.contains(where: { $0.name == name }) == true {
      throw CaravanError(.conflict, "snapshot '\(name)' exists")
    }
    let state = domains[domain]?.status ?? .notCreated
    snapshotsByDomain[domain, default: []].append(SnapshotInfo(name: name, createdAt: Date(), state: state))
  }
  func snapshots(domain: String) throws -> [SnapshotInfo] { snapshotsByDomain[domain] ?? [] }
  func revertToSnapshot(domain: String, name: String) throws {
    calls.append("revert \(domain) \(name)")
    guard let snapshot = snapshotsByDomain[domain]?.first(where: { $0.name == name }) else {
      throw CaravanError(.notFound, "no snapshot \(name)")
    }
    if snapshot.state == .running { try bindForwards(domain, "restore snapshot '\(name)' of domain '\(domain)'") }
    domains[domain]?.status = snapshot.state == .running ? .running : .poweroff
  }
  func deleteSnapshot(domain: String, name: String) throws {
    calls.append("delete-snapshot \(domain) \(name)")
    snapshotsByDomain[domain]?.removeAll { $0.name == name }
  }
}

/// Networks: Caravan's (from `ensureNetwork`) and the host's (set by a test), with their users from the plans.
extension FakeHypervisor {
  func networkInventory() throws -> NetworkInventory {
    let list = networks.values.sorted { $0.name < $1.name }.map { network in
      var network = network
      network.users = domains.keys.sorted().filter { domain in
        plans.last(where: { $0.domainName == domain })?.attachments.contains { $0.source == .network(network.name) }
          == true
      }
      return network
    }
    return NetworkInventory(networks: list, routes: routes, bridges: bridges)
  }
  func ensureNetwork(_ network: PrivateNetwork) throws -> Bool {
    calls.append("ensureNetwork \(network.name)")
    guard networks[network.name] == nil else { return false }
    networks[network.name] = ExistingNetwork(
      name: network.name, subnets: network.subnets, bridge: "virbr\(networks.count + 1)",
      projectRoot: network.projectRoot, users: [])
    return true
  }
  func removeNetwork(named name: String) throws {
    calls.append("removeNetwork \(name)")
    networks[name] = nil
  }
}

/// Warm starts: a state is a name in `warmVolumes`; a template is a domain that runs.
extension FakeHypervisor {
  func effectivePool(_ pool: String?) -> String { pool ?? "caravan" }
  func warmFingerprint(for plan: MachinePlan) throws -> WarmFingerprint {
    WarmFingerprint(
      boxVolume: plan.box.volumeName, memoryMiB: plan.memoryMiB, cpus: plan.cpus, machineType: plan.machineType ?? "pc",
      cpuMode: plan.cpuMode, accelerator: plan.accelerator.rawValue, qemuVersion: warmFingerprintVersion,
      libvirtVersion: "9.0.0", layout: "fake")
  }
  func warmStateSize(_ state: WarmState) throws -> UInt64? { warmVolumes.contains(state.volume) ? 300 << 20 : nil }
  func startWarmTemplate(_ plan: MachinePlan, progress: (String) -> Void) throws {
    calls.append("warmTemplate \(plan.domainName) \(plan.memoryMiB)")
    plans.append(plan)
    domains[plan.domainName] = (UUID().uuidString.lowercased(), .running)
  }
  func captureWarmState(template plan: MachinePlan) throws -> (volume: String, pool: String, sizeBytes: UInt64) {
    calls.append("captureWarm \(plan.domainName)")
    domains[plan.domainName] = nil
    warmVolumes.insert(plan.box.volumeName + ".warm")
    return (plan.box.volumeName + ".warm", effectivePool(plan.pool), 300 << 20)
  }
  func removeWarmState(box: InstalledBox, pool: String, template: String) throws {
    domains[template] = nil
    if warmVolumes.remove(box.volumeName + ".warm") != nil { calls.append("removeWarm \(box.volumeName)") }
  }
  func removeWarmTemplate(_ domain: String) throws {
    calls.append("removeWarmTemplate \(domain)")
    domains[domain] = nil
  }
  func defineWarm(_ plan: MachinePlan, from state: WarmState) throws -> String {
    calls.append("defineWarm \(plan.domainName)")
    guard warmVolumes.contains(state.volume) else { throw CaravanError(.notFound, "no warm volume") }
    plans.append(plan)
    let uuid = UUID().uuidString.lowercased()
    domains[plan.domainName] = (uuid, .poweroff)
    return uuid
  }
  func startWarm(_ plan: MachinePlan) throws {
    calls.append("startWarm \(plan.domainName)")
    onStartWarm()
    if let warmStartFailure { throw CaravanError(.hypervisor, warmStartFailure) }
    domains[plan.domainName]?.status = .running
  }
}
