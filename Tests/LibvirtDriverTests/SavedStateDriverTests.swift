import Core
import Foundation
import Libvirt
import Support
import Testing

@testable import LibvirtDriver

/// The driver's suspend, snapshot and global-status calls against libvirt's
/// `test:///default` driver.
struct SavedStateDriverTests {
  @Test func savedStatusSnapshotsCaravanDomainsAndRemoval() throws {
    let hypervisor = try LibvirtHypervisor(
      uri: "test:///default", lockDirectory: NSTemporaryDirectory() + "caravan-driver-\(getpid())")
    let name = "caravan-unit-driver-save"
    let xml = """
      <domain type='test'>
        <name>\(name)</name>
        <memory unit='MiB'>64</memory>
        <os><type>hvm</type></os>
        <metadata>
          <caravan:machine xmlns:caravan='\(DomainDefinition.metadataNamespace)'>
            <caravan:project>/home/dev/a &amp; b</caravan:project>
            <caravan:name>web</caravan:name>
          </caravan:machine>
        </metadata>
      </domain>
      """
    _ = try hypervisor.connection.defineDomain(xml: xml, name: name)
    defer { try? hypervisor.remove(domain: name) }
    try hypervisor.start(domain: name)
    #expect(try hypervisor.status(domain: name) == .running)

    let found = try hypervisor.caravanDomains().first { $0.domain == name }
    #expect(found == CaravanDomain(domain: name, projectRoot: "/home/dev/a & b", machine: "web", status: .running))

    try hypervisor.createSnapshot(domain: name, name: "s1", description: "caravan snapshot save")
    try hypervisor.saveMemory(domain: name)
    #expect(try hypervisor.status(domain: name) == .saved)
    #expect(try hypervisor.caravanDomains().first { $0.domain == name }?.status == .saved)
    try hypervisor.start(domain: name)
    #expect(try hypervisor.status(domain: name) == .running, "start restores the saved memory")
    try hypervisor.saveMemory(domain: name)
    try hypervisor.discardSavedMemory(domain: name)
    #expect(try hypervisor.status(domain: name) == .poweroff)
    try hypervisor.discardSavedMemory(domain: name)  // none: no error

    let snapshots = try hypervisor.snapshots(domain: name)
    #expect(snapshots.map(\.name) == ["s1"])
    #expect(snapshots.first?.state == .running)
    #expect(snapshots.first?.description == "caravan snapshot save")
    try hypervisor.revertToSnapshot(domain: name, name: "s1")
    #expect(try hypervisor.status(domain: name) == .running)
    let missing = try #require(throws: CaravanError.self) { try hypervisor.revertToSnapshot(domain: name, name: "s9") }
    #expect(missing.message == "domain '\(name)' has no snapshot 's9'")

    // A domain with a snapshot and saved memory is removed with nothing left.
    try hypervisor.saveMemory(domain: name)
    try hypervisor.remove(domain: name)
    #expect(try hypervisor.status(domain: name) == .notCreated)
    #expect(try !hypervisor.caravanDomains().contains { $0.domain == name })
  }

  @Test func snapshotStatesAreMachineStatuses() {
    #expect(LibvirtHypervisor.status(snapshotState: "running") == .running)
    #expect(LibvirtHypervisor.status(snapshotState: "shutoff") == .poweroff)
    #expect(LibvirtHypervisor.status(snapshotState: "disk-snapshot") == .poweroff)
    #expect(LibvirtHypervisor.status(snapshotState: "paused") == .paused)
  }
}
