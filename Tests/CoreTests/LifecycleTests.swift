import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// The engine against a fake hypervisor and guest: ordering, run-once
/// bookkeeping, reconciliation and halt's stages.
struct LifecycleTests {
  static let machinefile = """
    box "caravan/debian-12"
    provision shell, name: "first", inline: "true"
    provision shell, name: "every", inline: "true", run: always
    """

  @Test func upProvisionsOnceAndAlwaysProvisionersEveryBoot() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
    let record = try #require(try f.project.loadRecord("default"))
    #expect(record.provisioned == ["first", "every"])
    #expect(record.keyReplaced)

    try f.lifecycle.halt(f.project.spec.machines, force: true)
    f.guest.commands.removeAll()
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision every"])
    #expect(!f.guest.commands.contains { $0.hasPrefix("replaceKey") }, "the key is replaced exactly once")

    f.guest.commands.removeAll()
    try f.lifecycle.up(f.project.spec.machines, provision: true)
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
  }

  @Test func missingBoxIsNamedAndNothingIsDefined() throws {
    let f = try Fixture(LifecycleTests.machinefile, installBox: false)
    defer { f.cleanUp() }
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(error.message == "box 'caravan/debian-12' is not installed")
    #expect(error.hint?.contains("caravan box add caravan/debian-12") == true)
    #expect(error.hint?.contains("name an image of the index (debian/12, debian/13, ubuntu/24.04") == true, "\(error)")
    #expect(f.hypervisor.calls.isEmpty)
  }

  @Test func staleStateIsClearedWhenTheDomainIsGone() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let domain = f.project.domainName(for: "default")
    f.hypervisor.domains[domain] = nil  // `virsh undefine` by hand
    #expect(try f.lifecycle.status(f.project.spec.machines).first?.status == .notCreated)
    f.guest.commands.removeAll()
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("gone from libvirt; clearing the stale state") })
    #expect(
      f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"],
      "a new machine is provisioned again")
  }

  @Test func haltFallsFromSSHToACPIToForcedPowerOff() throws {
    let f = try Fixture(LifecycleTests.machinefile + "\ngraceful_halt_timeout 200ms\n")
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let started = Date()
    f.hypervisor.honoursACPI = false
    try f.lifecycle.halt(f.project.spec.machines, force: false)
    let domain = f.project.domainName(for: "default")
    #expect(f.guest.commands.contains { $0.contains("poweroff") })
    #expect(f.hypervisor.calls.suffix(2) == ["shutdown \(domain)", "forceOff \(domain)"])
    #expect(try f.lifecycle.status(f.project.spec.machines).first?.status == .poweroff)
    #expect(Date().timeIntervalSince(started) < 30, "each stage waits graceful_halt_timeout, not the 60 s default")
  }

  @Test func haltStopsAtSSHWhenTheGuestPowersOff() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let domain = f.project.domainName(for: "default")
    f.guest.onPoweroff = { f.hypervisor.domains[domain]?.status = .poweroff }
    try f.lifecycle.halt(f.project.spec.machines, force: false)
    #expect(!f.hypervisor.calls.contains("shutdown \(domain)"))
    #expect(!f.hypervisor.calls.contains("forceOff \(domain)"))
  }

  @Test func destroyRemovesDomainAndStateAndIsIdempotent() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(f.hypervisor.domains.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: f.project.machineDirectory("default")))
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(f.reporter.lines.last == "default: not created")
  }

  @Test func unsupportedSettingsAreNamed() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      sync "./app" -> "/srv/app"
      """)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(
      f.reporter.lines.contains {
        $0.hasPrefix("warning: machine 'default': 'sync' (Machinefile:2:1) is not supported yet")
      })
  }

  @Test func domainNamesAreStablePerProjectFolder() {
    let a = Project(root: "/home/u/web", machinefilePath: "/home/u/web/Machinefile", spec: ProjectSpec(machines: []))
    let b = Project(
      root: "/srv/other/web", machinefilePath: "/srv/other/web/Machinefile", spec: ProjectSpec(machines: []))
    #expect(a.domainName(for: "db").hasPrefix("caravan-web-db-"))
    #expect(a.domainName(for: "db") == a.domainName(for: "db"))
    #expect(a.domainName(for: "db") != b.domainName(for: "db"))
  }
}

struct PortAllocatorTests {
  @Test func busyPortIsAutoCorrectedIntoVagrantsRange() throws {
    var allocator = PortAllocator(isFree: { _, _, port in port != 8080 && port != 2200 })
    #expect(try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: 8080, autoCorrect: true, what: "x") == 2201)
    #expect(
      try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: 2201, autoCorrect: true, what: "y") == 2202,
      "a port chosen in this run is not chosen twice")
  }

  @Test func busyPortWithoutAutoCorrectIsAnErrorNamingIt() throws {
    var allocator = PortAllocator(isFree: { _, _, _ in false })
    let error = try #require(throws: CaravanError.self) {
      try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: 8080, autoCorrect: false, what: "forward 8080 -> 80")
    }
    #expect(error.message == "host port 127.0.0.1:8080 for forward 8080 -> 80 is already in use")
  }

  @Test func realBindCheckSeesAHeldPort() throws {
    let held = HeldPort()
    defer { held.close() }
    #expect(!PortAllocator.canBind(.tcp, "127.0.0.1", held.port))
  }
}

/// A TCP port on 127.0.0.1 that the system chose, listened on until `close`.
struct HeldPort {
  let fd: Int32
  let port: Int

  init() {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    self.fd = fd
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    listen(fd, 1)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    port = Int(UInt16(bigEndian: address.sin_port))
  }

  func close() { Glibc.close(fd) }
}
