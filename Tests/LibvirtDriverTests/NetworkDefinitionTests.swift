import Core
import Foundation
import Host
import Libvirt
import Spec
import Support
import Testing

@testable import LibvirtDriver

/// The XML of Caravan's networks and of domains' extra NICs (checked against
/// libvirt's schemas), what is read back from libvirt's networks, the host's
/// routes, and the network calls on libvirt's `test:///default` driver. The
/// addresses are documentation ranges (TEST-NET), never a private range.
struct NetworkDefinitionTests {
  static let network = PrivateNetwork(
    name: "caravan-hello-198.51.100.0-24-1a2b3c",
    subnet: IPv4Subnet(containing: IPv4Address(0xC633_6400), prefix: 24),  // 198.51.100.0/24
    projectRoot: "/home/dev/hello & co")

  static func validate(_ xml: String, as kind: String) throws -> Subprocess.Result {
    let path = NSTemporaryDirectory() + "caravan-\(kind)-\(UUID().uuidString).xml"
    try xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try Subprocess(["virt-xml-validate", path, kind]).run()
  }

  @Test func privateNetworkIsIsolatedWithHostFirstAndDHCPAbove() throws {
    let xml = NetworkDefinition(NetworkDefinitionTests.network).xml
    #expect(
      xml == """
        <network>
          <name>caravan-hello-198.51.100.0-24-1a2b3c</name>
          <metadata>
            <caravan:network xmlns:caravan='https://caravan.dev/xmlns/network/1'>
              <caravan:project>/home/dev/hello &amp; co</caravan:project>
              <caravan:subnet>198.51.100.0/24</caravan:subnet>
            </caravan:network>
          </metadata>
          <bridge stp='on' delay='0'/>
          <dns enable='no'/>
          <ip address='198.51.100.1' netmask='255.255.255.0'>
            <dhcp>
              <range start='198.51.100.128' end='198.51.100.254'/>
            </dhcp>
          </ip>
        </network>

        """)
    let result = try NetworkDefinitionTests.validate(xml, as: "network")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }

  /// Dual stack: one network with an IPv4 subnet (DHCP above) and an IPv6 one (static
  /// addresses only: no DHCPv6, no router advertisements), both named in the metadata.
  @Test func dualStackNetworkHasBothFamilies() throws {
    let network = PrivateNetwork(
      name: "caravan-hello-198.51.100.0-24-2001-db8-10---64-1a2b3c",
      subnets: [
        .v6(IPv6Subnet(containing: IPv6Address("2001:db8:10::")!, prefix: 64)),
        .v4(IPv4Subnet("198.51.100.0/24")!),
      ], projectRoot: "/p")
    let xml = NetworkDefinition(network).xml
    #expect(xml.contains("<caravan:subnet>198.51.100.0/24</caravan:subnet>\n"), "\(xml)")
    #expect(xml.contains("<caravan:subnet>2001:db8:10::/64</caravan:subnet>"), "\(xml)")
    #expect(xml.contains("<ip address='198.51.100.1' netmask='255.255.255.0'>"), "IPv4 first: \(xml)")
    #expect(xml.contains("<ip family='ipv6' address='2001:db8:10::1' prefix='64'/>"), "\(xml)")
    #expect(xml.components(separatedBy: "<dhcp>").count == 2, "DHCP for IPv4 only: \(xml)")
    let result = try NetworkDefinitionTests.validate(xml, as: "network")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(NetworkDefinition.read(xml, name: network.name, users: []).subnets == network.subnets)
  }

  @Test func extraNICsTakeTheSlotsAfterTheManagementNIC() throws {
    var definition = DomainDefinitionTests.sample()
    definition.interfaces = [
      NetworkAttachment(source: .network(NetworkDefinitionTests.network.name), mac: "52:54:00:aa:bb:cc"),
      NetworkAttachment(source: .bridge("br0"), mac: "52:54:00:dd:ee:ff"),
    ]
    let xml = definition.xml
    let first = """
          <interface type='network'>
            <mac address='52:54:00:aa:bb:cc'/>
            <source network='caravan-hello-198.51.100.0-24-1a2b3c'/>
            <model type='virtio'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x11' function='0x0'/>
          </interface>
      """
    #expect(xml.contains(first), "\(xml)")
    #expect(xml.contains("<interface type='bridge'>") && xml.contains("<source bridge='br0'/>"))
    #expect(xml.contains("slot='0x12'") && xml.contains("addr=0x10"))
    let result = try NetworkDefinitionTests.validate(xml, as: "domain")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(NetworkDefinition.networks(inDomainXML: xml) == [NetworkDefinitionTests.network.name])
  }

  @Test func networksAreReadBackFromLibvirtsXML() throws {
    let ours = NetworkDefinition.read(
      """
      <network>
        <name>caravan-hello-198.51.100.0-24-1a2b3c</name>
        <uuid>0b6e3f0e-0000-4000-8000-000000000000</uuid>
        <metadata>
          <caravan:network xmlns:caravan="https://caravan.dev/xmlns/network/1">
            <caravan:project>/home/dev/hello &amp; co</caravan:project>
          </caravan:network>
        </metadata>
        <bridge name="virbr3" stp="on" delay="0"/>
        <ip address="198.51.100.1" netmask="255.255.255.0"/>
        <ip family="ipv6" address="2001:db8::1" prefix="64"/>
      </network>
      """, name: "caravan-hello-198.51.100.0-24-1a2b3c", users: ["caravan-hello-web-1a2b3c"])
    #expect(
      ours
        == ExistingNetwork(
          name: "caravan-hello-198.51.100.0-24-1a2b3c",
          subnets: [
            .v4(IPv4Subnet("198.51.100.0/24")!), .v6(IPv6Subnet(containing: IPv6Address("2001:db8::1")!, prefix: 64)),
          ],
          bridge: "virbr3",
          projectRoot: "/home/dev/hello & co", users: ["caravan-hello-web-1a2b3c"]))
    let foreign = NetworkDefinition.read(
      "<network><name>lab</name><bridge name='br-lab'/><ip address='203.0.113.1' prefix='25'/></network>",
      name: "lab", users: [])
    #expect(
      foreign.projectRoot == nil && foreign.subnets == [.v4(IPv4Subnet("203.0.113.0/25")!)]
        && foreign.bridge == "br-lab")
  }

  @Test func hostRoutesAreReadFromTheKernelsTable() {
    let table = """
      Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
      eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
      eth0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
      virbr1\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
      """
    let routes = HostRoutes.parse(table)
    #expect(
      routes.map { "\($0.interface) \($0.subnet)" } == [
        "eth0 0.0.0.0/0", "eth0 203.0.113.0/24", "virbr1 198.51.100.0/24",
      ])
    let table6 = """
      20010db8001000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     virbr2
      fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
      00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000003 00000000 00000003     eth0
      20010db8001000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
      """
    #expect(
      HostRoutes.parseIPv6(table6).map { "\($0.interface) \($0.subnet)" } == [
        "virbr2 2001:db8:10::/64", "eth0 fe80::/64", "eth0 ::/0",
      ])
  }

  /// libvirt's test driver holds networks in memory: define, start, read back, remove.
  @Test func networksOnTheTestDriver() throws {
    let hypervisor = try LibvirtHypervisor(
      uri: "test:///default", lockDirectory: NSTemporaryDirectory() + "caravan-net-\(getpid())")
    let network = NetworkDefinitionTests.network
    #expect(try hypervisor.ensureNetwork(network))
    #expect(try !hypervisor.ensureNetwork(network), "a second time it is already there")
    let inventory = try hypervisor.networkInventory()
    let found = try #require(inventory.networks.first { $0.name == network.name })
    #expect(found.subnets == network.subnets && found.projectRoot == network.projectRoot && found.users.isEmpty)
    #expect(inventory.networks.contains { $0.name == "default" && $0.projectRoot == nil })
    try hypervisor.removeNetwork(named: network.name)
    try hypervisor.removeNetwork(named: network.name)
    #expect(try !hypervisor.networkInventory().networks.contains { $0.name == network.name })
  }
}
