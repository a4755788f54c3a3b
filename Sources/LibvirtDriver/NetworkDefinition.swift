import Core
import Foundation
import Host
import Spec

/// The XML of a network Caravan makes for `network private`, and what Caravan
/// reads back from any network's XML.
public struct NetworkDefinition: Equatable {
  public static let metadataNamespace = "https://caravan.dev/xmlns/network/1"

  public var network: PrivateNetwork

  public init(_ network: PrivateNetwork) { self.network = network }

  /// Isolated (no `<forward>`: guests reach each other and the host, nothing
  /// beyond), a bridge libvirt names, the host on each subnet's first address,
  /// DHCP on an IPv4 subnet's upper half (for `dhcp: true`; static addresses take
  /// the lower half; IPv6 addresses are all static, so no DHCPv6 and no router
  /// advertisements), no DNS server, and Caravan's metadata naming the project.
  public var xml: String {
    let addresses = network.subnets.map { subnet -> XMLElement in
      switch subnet {
      case .v4(let v4):
        var ip = XMLElement("ip", [("address", v4.hostAddress.description), ("netmask", v4.netmask.description)])
        if let range = v4.dhcpRange {
          ip.children.append(
            XMLElement(
              "dhcp",
              children: [
                XMLElement("range", [("start", range.lowerBound.description), ("end", range.upperBound.description)])
              ]))
        }
        return ip
      case .v6(let v6):
        return XMLElement(
          "ip", [("family", "ipv6"), ("address", v6.hostAddress.description), ("prefix", String(v6.prefix))])
      }
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
              children: [XMLElement("caravan:project", text: network.projectRoot)]
                + network.subnets.map { XMLElement("caravan:subnet", text: $0.description) })
          ]),
        XMLElement("bridge", [("stp", "on"), ("delay", "0")]),
        XMLElement("dns", [("enable", "no")]),
      ] + addresses)
    return root.render()
  }

  /// What Caravan needs of a network libvirt has: its subnets, bridge and,
  /// when Caravan made it, the project.
  static func read(_ xml: String, name: String, users: [String]) -> ExistingNetwork {
    var subnets: [IPSubnet] = []
    for tag in MetadataReader.openTags(xml, "ip") {
      let family = MetadataReader.attribute(in: tag, "family")
      guard let text = MetadataReader.attribute(in: tag, "address") else { continue }
      if family == "ipv6" {
        guard let address = IPv6Address(text) else { continue }
        let prefix = MetadataReader.attribute(in: tag, "prefix").flatMap { Int($0) } ?? 64
        subnets.append(.v6(IPv6Subnet(containing: address, prefix: prefix)))
        continue
      }
      guard family == nil || family == "ipv4", let address = IPv4Address(text) else { continue }
      let prefix =
        MetadataReader.attribute(in: tag, "prefix").flatMap { Int($0) }
        ?? MetadataReader.attribute(in: tag, "netmask").flatMap(IPv4Subnet.prefix(ofNetmask:)) ?? 24
      subnets.append(.v4(IPv4Subnet(containing: address, prefix: prefix)))
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
