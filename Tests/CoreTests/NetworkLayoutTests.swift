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
    #expect(
      web.map(\.kind) == [
        .privateNetwork(shared, address: IPv4Address("10.20.0.11").map(IPAddress.v4), prefix: 24), .publicBridge("br0"),
      ])
    #expect(db[0].privateNetwork == shared, "machines in one subnet share its network")
    #expect(db[1].privateNetwork?.name == "caravan-alpha-172.28.128.0-24-\(project.id)")
    #expect(db[1].guest == GuestInterface(mac: db[1].mac, mode: .dhcp, waitForAddress: true))
    #expect(web[1].guest.waitForAddress == false, "a public bridge's DHCP is not waited for")
    let eleven = try #require(IPv4Address("10.20.0.11"))
    #expect(web[0].guest.mode == .static(.v4(eleven), prefix: 24))
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
      name: wanted.name, subnets: [.v4(subnet)], bridge: "virbr1", projectRoot: "/p/alpha", users: ["x"])
    let ownRoute = HostRoute(subnet: .v4(subnet), interface: "virbr1")
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([own], routes: [ownRoute])) == nil,
      "its own network and its bridge's route are not a collision")
    let other = ExistingNetwork(
      name: "caravan-beta-10.20.0.0-16-bbbbbb", subnets: [.v4(try #require(IPv4Subnet("10.20.0.0/16")))],
      bridge: "virbr2", projectRoot: "/p/beta", users: [])
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([other]))
        == "network 'caravan-beta-10.20.0.0-16-bbbbbb' (10.20.0.0/16) of project /p/beta")
    let foreign = ExistingNetwork(
      name: "default", subnets: [.v4(try #require(IPv4Subnet("10.20.0.128/25")))], bridge: "virbr0", projectRoot: nil,
      users: [])
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([foreign])) == "libvirt network 'default' (10.20.0.128/25)")
    let lan = HostRoute(subnet: .v4(try #require(IPv4Subnet("10.0.0.0/8"))), interface: "eth0")
    let defaultRoute = HostRoute(subnet: .v4(try #require(IPv4Subnet("0.0.0.0/0"))), interface: "eth0")
    #expect(NetworkLayout.collision(of: wanted, in: inventory([], routes: [defaultRoute])) == nil)
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([], routes: [defaultRoute, lan]))
        == "the host's route to 10.0.0.0/8 on interface 'eth0'")
    #expect(
      NetworkLayout.collision(of: wanted, in: inventory([], routes: nil)) == nil, "a remote host's routes are unknown")
  }
}

/// IPv6 private networks and dual stack: an IPv4 line and an IPv6 line written
/// one after the other on a machine share one libvirt network with both subnets.
struct DualStackLayoutTests {
  static let dualStack = """
    box "caravan/debian-12"
    machine "web" {
      network private, ip: "10.20.0.11"
      network private, ip: "fd00:20::11", prefix: 64
      network public, bridge: "br0"
    }
    machine "db" {
      network private, ip: "fd00:20::12"
    }
    machine "cache" {
      network private, ip: "10.20.0.13"
    }
    machine "lab" {
      network private, ip: "fd00:99::5", prefix: 96
    }
    """

  @Test func anIPv4AndAnIPv6LineMakeOneDualStackNetwork() throws {
    let project = try NetworkLayoutTests.project(DualStackLayoutTests.dualStack)
    let layout = try NetworkLayout.check(project)
    let web = try #require(layout["web"])
    let v4 = try #require(IPv4Subnet("10.20.0.0/24"))
    let v6 = IPv6Subnet(containing: try #require(IPv6Address("fd00:20::")), prefix: 64)
    let dual = PrivateNetwork(
      name: "caravan-alpha-10.20.0.0-24-fd00-20---64-\(project.id)", subnets: [.v4(v4), .v6(v6)],
      projectRoot: project.root)
    #expect(web.count == 3, "each line is still a NIC of its own")
    #expect(web[0].privateNetwork == dual && web[1].privateNetwork == dual)
    #expect(dual.subnetsText == "10.20.0.0/24 and fd00:20::/64" && dual.hostText == "10.20.0.1 and fd00:20::1")
    #expect(web[1].guest.mode == .static(try #require(IPAddress("fd00:20::11")), prefix: 64))
    #expect(web[1].written == #"network private, ip: "fd00:20::11", prefix: 64"#)
    #expect(layout["db"]?.first?.privateNetwork == dual, "an IPv6 line alone joins the network its subnet is paired on")
    #expect(layout["cache"]?.first?.privateNetwork == dual, "an IPv4 line alone, the same")
    let lab = try #require(layout["lab"]?.first?.privateNetwork)
    #expect(lab.subnets == [.v6(IPv6Subnet(containing: try #require(IPv6Address("fd00:99::")), prefix: 96))])
    #expect(lab.name == "caravan-alpha-fd00-99---96-\(project.id)", "an IPv6-only network")
  }

  @Test func aSubnetPairedTwoWaysOrAnAddressThatIsNotAMachinesIsRefused() throws {
    let twoWays = try NetworkLayoutTests.project(
      """
      box "caravan/debian-12"
      machine "a" {
        network private, ip: "10.20.0.11"
        network private, ip: "fd00:20::11"
      }
      machine "b" {
        network private, ip: "10.20.0.12"
        network private, ip: "fd00:21::12"
      }
      """)
    let error = try #require(throws: CaravanError.self) { try NetworkLayout.check(twoWays) }
    #expect(
      error.message
        == "machine 'b': `network private, ip: \"fd00:21::12\"` pairs subnet 10.20.0.0/24 with fd00:21::/64 for dual stack, but machine 'a' pairs it with fd00:20::/64",
      "\(error)")
    for (ip, role) in [("fd00:20::", "the subnet's own address"), ("fd00:20::1", "the address the libvirt host takes")]
    {
      let project = try NetworkLayoutTests.project("box \"caravan/debian-12\"\nnetwork private, ip: \"\(ip)\"\n")
      let refused = try #require(throws: CaravanError.self) { try NetworkLayout.check(project) }
      #expect(refused.message.contains("\(ip) in `network private, ip: \"\(ip)\"` is \(role)"), "\(refused)")
      #expect(refused.hint?.contains("from fd00:20::2 up, such as fd00:20::b") == true, "\(refused)")
    }
    let twice = try NetworkLayoutTests.project(
      "box \"caravan/debian-12\"\nmachine \"a\" {\n  network private, ip: \"fd00:20::5\"\n}\nmachine \"b\" {\n  network private, ip: \"fd00:20:0::5\"\n}\n"
    )
    let owner = try #require(throws: CaravanError.self) { try NetworkLayout.check(twice) }
    #expect(owner.message == "machines 'a' and 'b' both ask for fd00:20::5 on a private network", "\(owner)")
  }

  @Test func anIPv6SubnetCollidesWithNetworksAndRoutesOfItsFamily() throws {
    let v6 = IPSubnet.v6(IPv6Subnet(containing: try #require(IPv6Address("fd00:20::")), prefix: 64))
    let v4 = IPSubnet.v4(try #require(IPv4Subnet("10.20.0.0/24")))
    let wanted = PrivateNetwork(name: "caravan-alpha-x", subnets: [v4, v6], projectRoot: "/p/alpha")
    let other = ExistingNetwork(
      name: "lab6", subnets: [.v6(IPv6Subnet(containing: try #require(IPv6Address("fd00::")), prefix: 16))],
      bridge: "virbr7", projectRoot: nil, users: [])
    #expect(
      NetworkLayout.collision(of: wanted, in: NetworkInventory(networks: [other], routes: [], bridges: []))
        == "libvirt network 'lab6' (fd00::/16)")
    let route = HostRoute(subnet: v6, interface: "eth0")
    #expect(
      NetworkLayout.collision(of: wanted, in: NetworkInventory(networks: [], routes: [route], bridges: []))
        == "the host's route to fd00:20::/64 on interface 'eth0'")
    let linkLocal = HostRoute(
      subnet: .v6(IPv6Subnet(containing: try #require(IPv6Address("fe80::")), prefix: 64)), interface: "eth0")
    #expect(
      NetworkLayout.collision(of: wanted, in: NetworkInventory(networks: [], routes: [linkLocal], bridges: [])) == nil)
  }
}
