import Core
import Foundation
import Host
import Libvirt
import Spec
import Support

/// Private networks (`network private`) and host bridges (`network public`).
extension LibvirtHypervisor: HypervisorNetworks {
  public func networkInventory() throws -> NetworkInventory {
    let networks: [Network]
    do {
      networks = try connection.allNetworks()
    } catch let error as CaravanError where (error.cause as? LibvirtError)?.isUnsupported == true {
      // A connection without a network driver (some session daemons) has no networks to collide with.
      networks = []
    }
    var users: [String: [String]] = [:]
    if !networks.isEmpty {
      for domain in try connection.allDomains() {
        guard let xml = try LibvirtError.unlessGone({ try domain.xml(inactive: true) }) else { continue }
        for network in NetworkDefinition.networks(inDomainXML: xml) {
          users[network, default: []].append(domain.name)
        }
      }
    }
    let existing = try networks.map { network in
      NetworkDefinition.read(try network.xml(), name: network.name, users: users[network.name] ?? [])
    }
    guard LibvirtURI.isLocalURI(uri) else { return NetworkInventory(networks: existing, routes: nil, bridges: nil) }
    let routes = (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)).map(HostRoutes.parse)
      .map {
        $0 + ((try? String(contentsOfFile: "/proc/net/ipv6_route", encoding: .utf8)).map(HostRoutes.parseIPv6) ?? [])
      }
    let bridges = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net"))?.filter {
      FileSystem.exists("/sys/class/net/\($0)/bridge")
    }
    return NetworkInventory(networks: existing, routes: routes, bridges: bridges)
  }

  public func ensureNetwork(_ network: PrivateNetwork) throws -> Bool {
    var made: Network?
    do {
      let found: Network
      if let existing = try connection.network(named: network.name) {
        found = existing
      } else {
        found = try connection.defineNetwork(xml: NetworkDefinition(network).xml, name: network.name)
        made = found
      }
      if try !found.isActive() { try found.start() }
      // It comes back with the libvirt host, as the machines on it may.
      try found.setAutostart(true)
      return made != nil
    } catch {
      try? made?.undefine()
      let session =
        uri.contains("session")
        ? " A session connection cannot make networks: use qemu:///system (CARAVAN_LIBVIRT_URI, or `libvirt { uri }`)."
        : ""
      throw CaravanError(
        .hypervisor,
        "libvirt could not make network '\(network.name)' (\(network.subnetsText)) ready: \((error as? CaravanError)?.message ?? "\(error)")",
        hint:
          "Another network or interface of the libvirt host may use that subnet: pick an address in another subnet. libvirt needs dnsmasq (Debian package dnsmasq-base) for the network's DHCP.\(session)",
        cause: error)
    }
  }

  public func removeNetwork(named name: String) throws {
    guard let found = try connection.network(named: name) else { return }
    if try found.isActive() { try found.destroy() }
    try found.undefine()
  }
}

/// The host's routes, as the kernel lists them in `/proc/net/route` and `/proc/net/ipv6_route`.
enum HostRoutes {
  /// One route per line after the header: interface, destination and mask as
  /// hexadecimal numbers in the kernel's byte order (the address's bytes in memory).
  static func parse(_ text: String) -> [HostRoute] {
    text.split(separator: "\n").dropFirst().compactMap { line in
      let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
      guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16)
      else { return nil }
      let prefix = IPv4Subnet.prefix(ofNetmask: IPv4Address(UInt32(bigEndian: mask)).description) ?? 32
      return HostRoute(
        subnet: .v4(IPv4Subnet(containing: IPv4Address(UInt32(bigEndian: destination)), prefix: prefix)),
        interface: String(fields[0]))
    }
  }

  /// One route per line: destination (32 hex digits), its prefix length (hex), then
  /// source, source prefix, next hop, metric, reference count, use, flags and the
  /// interface. Routes on `lo` (the host's own addresses) are left out.
  static func parseIPv6(_ text: String) -> [HostRoute] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
      guard fields.count >= 10, fields[9] != "lo", fields[0].count == 32,
        let high = UInt64(fields[0].prefix(16), radix: 16), let low = UInt64(fields[0].suffix(16), radix: 16),
        let prefix = Int(fields[1], radix: 16)
      else { return nil }
      let address = IPv6Address(UInt128(high) << 64 | UInt128(low))
      return HostRoute(subnet: .v6(IPv6Subnet(containing: address, prefix: prefix)), interface: String(fields[9]))
    }
  }
}
