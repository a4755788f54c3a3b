import Core
import Foundation
import Host
import Libvirt
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
          name: "caravan-hello-198.51.100.0-24-1a2b3c", subnets: [IPv4Subnet("198.51.100.0/24")!], bridge: "virbr3",
          projectRoot: "/home/dev/hello & co", users: ["caravan-hello-web-1a2b3c"]))
    let foreign = NetworkDefinition.read(
      "<network><name>lab</name><bridge name='br-lab'/><ip address='203.0.113.1' prefix='25'/></network>",
      name: "lab", users: [])
    #expect(
      foreign.projectRoot == nil && foreign.subnets == [IPv4Subnet("203.0.113.0/25")!] && foreign.bridge == "br-lab")
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
    #expect(found.subnets == [network.subnet] && found.projectRoot == network.projectRoot && found.users.isEmpty)
    #expect(inventory.networks.contains { $0.name == "default" && $0.projectRoot == nil })
    try hypervisor.removeNetwork(named: network.name)
    try hypervisor.removeNetwork(named: network.name)
    #expect(try !hypervisor.networkInventory().networks.contains { $0.name == network.name })
  }
}
