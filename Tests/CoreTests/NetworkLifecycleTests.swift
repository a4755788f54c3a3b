import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// Private networks through the engine, against the fake hypervisor: made once
/// and shared, the guest configured over SSH, `/etc/hosts` written in every
/// machine, removed with the last machine, refused when another project has the subnet.
struct NetworkLifecycleTests {
  static let machinefile = """
    box "caravan/debian-12"
    machine "web" {
      hostname "web.local"
      network private, ip: "10.20.0.11"
    }
    machine "db" {
      network private, ip: "10.20.0.12"
    }
    """

  @Test func twoMachinesShareOneNetworkAndNameEachOtherUntilTheLastIsDestroyed() throws {
    let f = try Fixture(NetworkLifecycleTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let network = "caravan-project-10.20.0.0-24-\(f.project.id)"
    #expect(
      f.hypervisor.calls.filter { $0.hasPrefix("ensureNetwork") }
        == Array(repeating: "ensureNetwork \(network)", count: 2))
    #expect(f.hypervisor.networks.keys.sorted() == [network])
    #expect(f.reporter.lines.filter { $0.contains("made private network '\(network)'") }.count == 1)
    let layout = try NetworkLayout.check(f.project)
    for plan in f.hypervisor.plans {
      let mac = try #require(layout[plan.machineName]?.first?.mac)
      #expect(plan.attachments == [NetworkAttachment(source: .network(network), mac: mac)])
    }
    // Each guest was configured over SSH, by MAC, with its own address.
    let configured = f.guest.commands.filter { $0 == "sudo -n sh -s" }
    #expect(configured.count == 4, "two NIC configurations and two /etc/hosts updates: \(f.guest.commands)")
    #expect(f.reporter.lines.contains { $0.hasPrefix("web: /etc/hosts names the project's machines (2 addresses)") })
    #expect(f.reporter.lines.contains { $0.hasPrefix("db: /etc/hosts names the project's machines (2 addresses)") })

    // Another project's network, unused: never this project's to remove.
    let beta = "caravan-beta-10.21.0.0-24-bbbbbb"
    f.hypervisor.networks[beta] = ExistingNetwork(
      name: beta, subnets: [.v4(try #require(IPv4Subnet("10.21.0.0/24")))], bridge: "virbr9", projectRoot: "/p/beta",
      users: [])
    try f.lifecycle.destroy([try #require(f.project.spec.machine(named: "db"))])
    #expect(f.hypervisor.networks.keys.sorted() == [beta, network], "web still uses it")
    try f.lifecycle.destroy([try #require(f.project.spec.machine(named: "web"))])
    #expect(f.hypervisor.networks.keys.sorted() == [beta], "the last machine takes it along")
    #expect(f.reporter.lines.contains("web: removed network '\(network)' (no machine uses it any more)"))
  }

  @Test func aSubnetAnotherProjectUsesIsRefusedByNameAndNothingIsMade() throws {
    let f = try Fixture(NetworkLifecycleTests.machinefile)
    defer { f.cleanUp() }
    f.hypervisor.networks["caravan-beta-10.20.0.0-24-bbbbbb"] = ExistingNetwork(
      name: "caravan-beta-10.20.0.0-24-bbbbbb", subnets: [.v4(try #require(IPv4Subnet("10.20.0.0/24")))],
      bridge: "virbr7", projectRoot: "/p/beta", users: [])
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, provision: nil)
    }
    #expect(
      error.message
        == "machine 'web': subnet 10.20.0.0/24 of `network private, ip: \"10.20.0.11\"` is used by network 'caravan-beta-10.20.0.0-24-bbbbbb' (10.20.0.0/24) of project /p/beta"
    )
    #expect(error.hint?.contains("Pick an address in another subnet") == true)
    #expect(f.hypervisor.domains.isEmpty && f.hypervisor.networks.count == 1)
    #expect(!f.hypervisor.calls.contains { $0.hasPrefix("define") || $0.hasPrefix("ensureNetwork") })

    f.hypervisor.networks = [:]
    f.hypervisor.routes = [HostRoute(subnet: .v4(try #require(IPv4Subnet("10.20.0.0/16"))), interface: "eth1")]
    let routeError = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, provision: nil)
    }
    #expect(routeError.message.hasSuffix("is used by the host's route to 10.20.0.0/16 on interface 'eth1'"))
  }

  @Test func aFailedFirstUpRemovesTheNetworkItMade() throws {
    let f = try Fixture(NetworkLifecycleTests.machinefile)
    defer { f.cleanUp() }
    f.guest.ready = false
    var web = try #require(f.project.spec.machine(named: "web"))
    web.bootTimeoutSeconds = 0.2
    #expect(throws: CaravanError.self) { try f.lifecycle.up([web], provision: nil) }
    #expect(f.hypervisor.domains.isEmpty)
    #expect(f.hypervisor.networks.isEmpty, "\(f.hypervisor.calls)")
    #expect(f.reporter.lines.contains { $0.contains("removed network 'caravan-project-10.20.0.0-24-") })
  }

  @Test func aMissingBridgeIsNamedWithTheBridgesThereAre() throws {
    let f = try Fixture("box \"caravan/debian-12\"\nnetwork public, bridge: \"br9\"\n")
    defer { f.cleanUp() }
    f.hypervisor.bridges = ["virbr0", "br0"]
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(
      error.message == "machine 'default': the libvirt host has no bridge 'br9' for `network public, bridge: \"br9\"`")
    #expect(error.hint?.contains("Bridges there: br0, virbr0.") == true, "\(error)")
    f.hypervisor.bridges = ["br9"]
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.hypervisor.plans.last?.attachments.first?.source == .bridge("br9"))
    #expect(f.hypervisor.networks.isEmpty)
  }

  @Test func hostNamesAreTheHostnameItsFirstLabelAndTheMachineName() throws {
    var machine = MachineSpec(name: "web")
    #expect(Lifecycle.hostNames(machine) == ["web"])
    machine.hostname = "web.example.test"
    #expect(Lifecycle.hostNames(machine) == ["web.example.test", "web"])
    machine.hostname = "front"
    #expect(Lifecycle.hostNames(machine) == ["front", "web"])
  }
}
