import Support
import Testing

@testable import Libvirt

/// Managed save, pausing and snapshots against libvirt's `test:///default` driver.
struct SavedStateTests {
  /// A running domain of its own, undefined (with its saved memory and snapshot metadata) at the end.
  static func withDomain(_ name: String, _ body: (Domain) throws -> Void) throws {
    let connection = try Connection(uri: "test:///default")
    let xml = """
      <domain type='test'>
        <name>\(name)</name>
        <memory unit='MiB'>64</memory>
        <os><type>hvm</type></os>
      </domain>
      """
    let domain = try connection.defineDomain(xml: xml, name: name)
    defer {
      if (try? domain.isActive()) == true { try? domain.destroy() }
      try? domain.undefine()
    }
    try domain.start()
    try body(domain)
  }

  @Test func managedSaveStopsTheDomainAndStartRestoresIt() throws {
    try SavedStateTests.withDomain("caravan-unit-save") { domain in
      #expect(try !domain.hasManagedSaveImage())
      try domain.managedSave()
      #expect(try domain.state() == .shutoff)
      #expect(try domain.hasManagedSaveImage())
      try domain.start()
      #expect(try domain.state() == .running)
      #expect(try !domain.hasManagedSaveImage(), "the image is used up by the restore")

      try domain.managedSave()
      try domain.removeManagedSave()
      #expect(try !domain.hasManagedSaveImage())
      #expect(try domain.state() == .shutoff)
    }
  }

  @Test func aPausedDomainIsResumed() throws {
    try SavedStateTests.withDomain("caravan-unit-pause") { domain in
      try domain.pause()
      #expect(try domain.state() == .paused)
      #expect(try domain.isActive())
      try domain.resume()
      #expect(try domain.state() == .running)
      let error = try #require(throws: CaravanError.self) { try domain.resume() }
      #expect(error.message.hasPrefix("libvirt could not resume domain 'caravan-unit-pause': "), "\(error)")
    }
  }

  @Test func snapshotsAreTakenListedRevertedAndDeleted() throws {
    try SavedStateTests.withDomain("caravan-unit-snap") { domain in
      let s1 = try domain.createSnapshot(name: "s1", description: "first <one> & only")
      #expect(s1.name == "s1")
      let summary = try s1.summary()
      #expect(summary.state == "running")
      #expect(summary.description == "first <one> & only")
      #expect(summary.creationTime > 1_600_000_000)
      try domain.destroy()
      try domain.createSnapshot(name: "off")
      #expect(try domain.snapshots().map(\.name).sorted() == ["off", "s1"])
      #expect(try domain.snapshot(named: "off")?.summary().state == "shutoff")
      #expect(try domain.snapshot(named: "absent") == nil)

      try #require(try domain.snapshot(named: "s1")).revert()
      #expect(try domain.state() == .running, "a snapshot of a running domain comes back running")
      try #require(try domain.snapshot(named: "off")).revert()
      #expect(try domain.state() == .shutoff, "a snapshot of a stopped domain stops it")

      try #require(try domain.snapshot(named: "s1")).delete()
      #expect(try domain.snapshots().map(\.name) == ["off"])
      let duplicate = try #require(throws: CaravanError.self) { try domain.createSnapshot(name: "off") }
      #expect(duplicate.message.contains("take snapshot 'off' of domain 'caravan-unit-snap'"), "\(duplicate)")
    }
  }

  @Test func aDomainWithSnapshotsAndSavedMemoryIsUndefinedWithNothingLeft() throws {
    let connection = try Connection(uri: "test:///default")
    try SavedStateTests.withDomain("caravan-unit-undefine") { domain in
      try domain.createSnapshot(name: "s1")
      try domain.managedSave()
      try domain.undefine()
      #expect(try connection.domain(named: "caravan-unit-undefine") == nil)
    }
  }
}
