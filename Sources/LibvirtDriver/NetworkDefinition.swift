import Core
import Foundation
import Host

/// The XML of a network Caravan makes for `network private`, and what Caravan
/// reads back from any network's XML.
public struct NetworkDefinition: Equatable {
  public static let metadataNamespace = "https://caravan.dev/xmlns/network/1"

  public var network: PrivateNetwork

  public init(_ network: PrivateNetwork) { self.network = network }

  /// Isolated (no `<forward>`: guests reach each other and the host, nothing
  /// beyond), a bridge libvirt names, the host on the subnet's first address,
  /// DHCP on its upper half (for `dhcp: true`; static addresses take the lower
  /// half), no DNS server, and Caravan's metadata naming the project.
  public var xml: String {
    let subnet = network.subnet
    var ip = XMLElement("ip", [("address", subnet.hostAddress.description), ("netmask", subnet.netmask.description)])
    if let range = subnet.dhcpRange {
      ip.children.append(
        XMLElement(
          "dhcp",
          children: [
            XMLElement("range", [("start", range.lowerBound.description), ("end", range.upperBound.description)])
          ]))
    }
    let root = XMLElement(
      "network",
      children: [
        XMLElement("name", text: network.name),
        XMLElement(
          "metadata",
          children: [
            XMLElement(
              "caravan:network", [("xmlns:caravan", NetworkDefinition.metadataNamespace)],
              children: [
                XMLElement("caravan:project", text: network.projectRoot),
                XMLElement("caravan:subnet", text: subnet.description),
              ])
          ]),
        XMLElement("bridge", [("stp", "on"), ("delay", "0")]),
        XMLElement("dns", [("enable", "no")]),
        ip,
      ])
    return root.render()
  }

  /// What Caravan needs of a network libvirt has: its IPv4 subnets, bridge and,
  /// when Caravan made it, the project.
  static func read(_ xml: String, name: String, users: [String]) -> ExistingNetwork {
    var subnets: [IPv4Subnet] = []
    for tag in MetadataReader.openTags(xml, "ip") {
      let family = MetadataReader.attribute(in: tag, "family")
      guard family == nil || family == "ipv4",
        let address = MetadataReader.attribute(in: tag, "address").flatMap({ IPv4Address($0) })
      else { continue }
      let prefix =
        MetadataReader.attribute(in: tag, "prefix").flatMap { Int($0) }
        ?? MetadataReader.attribute(in: tag, "netmask").flatMap(IPv4Subnet.prefix(ofNetmask:)) ?? 24
      subnets.append(IPv4Subnet(containing: address, prefix: prefix))
    }
    let bridge = MetadataReader.openTags(xml, "bridge").first.flatMap { MetadataReader.attribute(in: $0, "name") }
    var project: String?
    if let start = xml.range(of: NetworkDefinition.metadataNamespace) {
      project = MetadataReader.text(String(xml[start.upperBound...]), "project")
    }
    return ExistingNetwork(name: name, subnets: subnets, bridge: bridge, projectRoot: project, users: users)
  }

  /// The networks a domain's XML attaches interfaces to.
  static func networks(inDomainXML xml: String) -> [String] {
    MetadataReader.openTags(xml, "source").compactMap { MetadataReader.attribute(in: $0, "network") }
  }
}
