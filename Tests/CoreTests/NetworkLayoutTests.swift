import Foundation
import Host
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// Subnet arithmetic, what `network` lines come to, and the collision check.
struct NetworkLayoutTests {
  static func project(_ machinefile: String, root: String = "/home/dev/alpha") throws -> Project {
    let spec = try Machinefile.load(source: machinefile, fileName: "Machinefile", environment: [:])
    return Project(root: root, machinefilePath: root + "/Machinefile", spec: spec)
  }

  @Test func addressesAndSubnets() throws {
    #expect(IPv4Address("10.20.0.11")?.value == 0x0a14_000b)
    #expect(IPv4Address("10.20.0.11")?.description == "10.20.0.11")
    for bad in ["10.20.0", "10.20.0.256", "10.20.0.-1", "10..0.1", "a.b.c.d", "10.20.0.1 ", "1234.0.0.1"] {
      #expect(IPv4Address(bad) == nil, "\(bad)")
    }
    let subnet = try #require(IPv4Subnet("10.20.0.77/24"))
    #expect(subnet.description == "10.20.0.0/24")
    #expect(subnet.netmask.description == "255.255.255.0" && subnet.broadcast.description == "10.20.0.255")
    #expect(subnet.hostAddress.description == "10.20.0.1")
    #expect(subnet.dhcpRange.map { "\($0.lowerBound)-\($0.upperBound)" } == "10.20.0.128-10.20.0.254")
    #expect(IPv4Subnet("10.20.0.0/30")?.dhcpRange.map { "\($0.lowerBound)-\($0.upperBound)" } == "10.20.0.2-10.20.0.2")
    #expect(IPv4Subnet.prefix(ofNetmask: "255.255.240.0") == 20)
    #expect(IPv4Subnet.prefix(ofNetmask: "255.0.255.0") == nil)
    #expect(IPv4Subnet.prefix(ofNetmask: "0.0.0.0") == 0)
    let wide = try #require(IPv4Subnet("10.20.0.0/16"))
    #expect(wide.overlaps(subnet) && subnet.overlaps(wide))
    #expect(!subnet.overlaps(try #require(IPv4Subnet("10.20.1.0/24"))))
    #expect(subnet.contains(try #require(IPv4Address("10.20.0.200"))))
    #expect(!subnet.contains(try #require(IPv4Address("10.20.1.1"))))
  }

  static let twoMachines = """
    box "caravan/debian-12"
    machine "web" {
      hostname "web.local"
      network private, ip: "10.20.0.11"
      network public, bridge: "br0"
    }
    machine "db" {
      network private, ip: "10.20.0.12", netmask: "255.255.255.0"
      network private, dhcp: true
    }
    """

  @Test func networkLinesBecomeNamedNetworksWithFixedMACs() throws {
    let project = try NetworkLayoutTests.project(NetworkLayoutTests.twoMachines)
    let layout = try NetworkLayout.check(project)
    let web = try #require(layout["web"])
    let db = try #require(layout["db"])
    let name = "caravan-alpha-10.20.0.0-24-\(project.id)"
    let shared = PrivateNetwork(name: name, subnet: try #require(IPv4Subnet("10.20.0.0/24")), projectRoot: project.root)
    #expect(web.map(\.kind) == [.privateNetwork(shared, address: IPv4Address("10.20.0.11")), .publicBridge("br0")])
    #expect(db[0].privateNetwork == shared, "machines in one subnet share its network")
    #expect(db[1].privateNetwork?.name == "caravan-alpha-172.28.128.0-24-\(project.id)")
    #expect(db[1].guest == GuestInterface(mac: db[1].mac, mode: .dhcp, waitForAddress: true))
    #expect(web[1].guest.waitForAddress == false, "a public bridge's DHCP is not waited for")
    let eleven = try #require(IPv4Address("10.20.0.11"))
    #expect(web[0].guest.mode == .static(eleven, prefix: 24))
    #expect(web[1].attachment == NetworkAttachment(source: .bridge("br0"), mac: web[1].mac))
    let macs = (web + db).map(\.mac)
    #expect(Set(macs).count == 4 && macs.allSatisfy { $0.hasPrefix("52:54:00:") && $0.count == 17 }, "\(macs)")
    #expect(try NetworkLayout.check(project)["web"]?.map(\.mac) == web.map(\.mac), "stable across runs")
    #expect(web[0].written == #"network private, ip: "10.20.0.11""#)
  }

  @Test func addressesThatAreNotAMachinesAreRefusedWithTheFix() throws {
    for (ip, role) in [
      ("10.20.0.1", "the address the libvirt host takes"), ("10.20.0.0", "the subnet's own address"),
      ("10.20.0.255", "its broadcast address"),
    ] {
      let project = try NetworkLayoutTests.project("box \"caravan/debian-12\"\nnetwork private, ip: \"\(ip)\"\n")
      let error = try #require(throws: CaravanError.self) { try NetworkLayout.check(project) }
      #expect(error.message.contains("\(ip) in `network private, ip: \"\(ip)\"` is \(role)"), "\(error)")
      #expect(error.hint?.contains("from 10.20.0.2 up") == true, "\(error)")
    }
    let tiny = try NetworkLayoutTests.project(
      "box \"caravan/debian-12\"\nnetwork private, ip: \"10.20.0.5\", netmask: \"255.255.255.254\"\n")
    let error = try #require(throws: CaravanError.self) { try NetworkLayout.check(tiny) }
    #expect(error.message.contains("/31") && error.hint?.contains("255.255.255.252") == true, "\(error)")
  }

  @Test func aProjectMayNotGiveOneAddressTwiceNorOverlapItsOwnSubnets() throws {
    let twice = try NetworkLayoutTests.project(
      """
      box "caravan/debian-12"
      machine "a" {
        network private, ip: "10.20.0.11"
      }
      machine "b" {
        network private, ip: "10.20.0.11"
      }
      """)
    let error = try #require(throws: CaravanError.self) { try NetworkLayout.check(twice) }
    #expect(error.message == "machines 'a' and 'b' both ask for 10.20.0.11 on a private network")
    let overlap = try NetworkLayoutTests.project(
      """
      box "caravan/debian-12"
      machine "a" {
        network private, ip: "10.20.0.11"
      }
      machine "b" {
        network private, ip: "10.20.0.12", netmask: "255.255.0.0"
      }
      """)
    let overlapError = try #require(throws: CaravanError.self) { try NetworkLayout.check(overlap) }
    #expect(
      overlapError.message.contains(
        "subnet 10.20.0.0/16 of `network private, ip: \"10.20.0.12\", netmask: \"255.255.0.0\"` overlaps subnet 10.20.0.0/24 of machine 'a'"
      ), "\(overlapError)")
    let publicWithoutBridge = try NetworkLayoutTests.project("box \"caravan/debian-12\"\nnetwork public\n")
    let bridgeError = try #require(throws: CaravanError.self) { try NetworkLayout.check(publicWithoutBridge) }
    #expect(bridgeError.message.contains("`network public` needs the host bridge"), "\(bridgeError)")
    #expect(bridgeError.hint?.contains("bridge: \"br0\"") == true)
  }

  @Test func collisionsNameTheNetworkTheProjectOrTheRoute() throws {
    let subnet = try #require(IPv4Subnet("10.20.0.0/24"))
    let wanted = PrivateNetwork(name: "caravan-alpha-10.20.0.0-24-aaaaaa", subnet: subnet, projectRoot: "/p/alpha")
    func inventory(_ networks: [ExistingNetwork], routes: [HostRoute]? = []) -> NetworkInventory {
      NetworkInventory(networks: networks, routes: routes, bridges: [])
    }
    #expect(NetworkLayout.collision(of: wanted, in: inventory([])) == nil)
    let own = ExistingNetwork(
      name: wanted.name, subnets: [subnet], bridge: "virbr1", projectRoot: "/p/alpha", users: ["x"])
    let ownRoute = HostRoute(subnet: subnet, interface: "virbr1")
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([own], routes: [ownRoute])) == nil,
      "its own network and its bridge's route are not a collision")
    let other = ExistingNetwork(
      name: "caravan-beta-10.20.0.0-16-bbbbbb", subnets: [try #require(IPv4Subnet("10.20.0.0/16"))],
      bridge: "virbr2", projectRoot: "/p/beta", users: [])
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([other]))
        == "network 'caravan-beta-10.20.0.0-16-bbbbbb' (10.20.0.0/16) of project /p/beta")
    let foreign = ExistingNetwork(
      name: "default", subnets: [try #require(IPv4Subnet("10.20.0.128/25"))], bridge: "virbr0", projectRoot: nil,
      users: [])
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([foreign])) == "libvirt network 'default' (10.20.0.128/25)")
    let lan = HostRoute(subnet: try #require(IPv4Subnet("10.0.0.0/8")), interface: "eth0")
    let defaultRoute = HostRoute(subnet: try #require(IPv4Subnet("0.0.0.0/0")), interface: "eth0")
    #expect(NetworkLayout.collision(of: wanted, in: inventory([], routes: [defaultRoute])) == nil)
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([], routes: [defaultRoute, lan]))
        == "the host's route to 10.0.0.0/8 on interface 'eth0'")
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([], routes: nil)) == nil, "a remote host's routes are unknown")
  }
}
