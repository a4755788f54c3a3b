import Foundation
import Host
import Spec
import Support

/// The `network` settings of a project, resolved: subnets, network names, MAC
/// addresses, dual stack, and the checks that need no libvirt.
public enum NetworkLayout {
  /// The subnet of `network private, dhcp: true` without an address (Vagrant's).
  public static let defaultDHCPSubnet = "172.28.128.0"

  /// One `network private` line of a machine, read.
  struct PrivateLine {
    var address: IPAddress?
    var subnet: IPSubnet
    var written: String
  }

  /// `caravan-<folder>-<subnet>[-<IPv6 subnet>]-<project id>`: recognisable in
  /// `virsh net-list`, one per project and subnet (or pair of subnets).
  public static func networkName(_ subnets: [IPSubnet], project: Project) -> String {
    let parts = subnets.map { subnet -> String in
      switch subnet {
      case .v4(let v4): return "\(v4.network)-\(v4.prefix)"
      case .v6(let v6): return "\(v6.network)".replacingOccurrences(of: ":", with: "-") + "-\(v6.prefix)"
      }
    }
    return "caravan-\(project.shortName)-\(parts.joined(separator: "-"))-\(project.id)"
  }

  public static func networkName(_ subnet: IPv4Subnet, project: Project) -> String {
    networkName([.v4(subnet)], project: project)
  }

  /// A MAC address with QEMU's usual prefix (52:54:00), the same for the machine's n-th NIC every time.
  public static func mac(domain: String, index: Int) -> String {
    let hash = StableHash.fnv1a64("\(domain)#network\(index)")
    let bytes = [16, 8, 0].map { String(format: "%02x", (hash >> UInt64($0)) & 0xff) }
    return "52:54:00:" + bytes.joined(separator: ":")
  }

  /// Each `network` line of the machine, checked: a private address must be a
  /// machine's (not the subnet's own, an IPv4 broadcast or the host's first address),
  /// a public network must name its bridge. A private line's network carries the
  /// subnet of the other family that the project makes dual stack with it.
  public static func interfaces(of machine: MachineSpec, project: Project) throws -> [MachineInterface] {
    try interfaces(of: machine, project: project, partners: try dualStack(project))
  }

  /// The same, with the project's dual-stack pairs already read (`check` reads them once for all machines).
  static func interfaces(of machine: MachineSpec, project: Project, partners: [IPSubnet: IPSubnet]) throws
    -> [MachineInterface]
  {
    let domain = project.domainName(for: machine.name)
    return try machine.networks.enumerated().map { index, network in
      let mac = NetworkLayout.mac(domain: domain, index: index)
      switch network {
      case .publicNetwork(let bridge):
        guard let bridge, !bridge.isEmpty else {
          throw CaravanError(
            .invalidInput, "machine '\(machine.name)': `network public` needs the host bridge to attach to",
            hint: "Name an existing bridge of the libvirt host: `network public, bridge: \"br0\"`.")
        }
        return MachineInterface(kind: .publicBridge(bridge), mac: mac, written: "network public, bridge: \"\(bridge)\"")
      case .privateNetwork(let ip, let netmask, let prefix):
        let line = try privateLine(ip: ip, netmask: netmask, prefix: prefix, machine: machine)
        var onto = PrivateNetwork(
          name: "", subnets: [line.subnet] + [partners[line.subnet]].compactMap { $0 }, projectRoot: project.root)
        onto.name = networkName(onto.subnets, project: project)
        return MachineInterface(
          kind: .privateNetwork(onto, address: line.address, prefix: line.subnet.prefix), mac: mac,
          written: line.written)
      }
    }
  }

  /// Reads one `network private` line: its address (nil for DHCP), its subnet.
  static func privateLine(ip: String?, netmask: String?, prefix: Int?, machine: MachineSpec) throws -> PrivateLine {
    let written =
      "network private, " + (ip.map { "ip: \"\($0)\"" } ?? "dhcp: true")
      + (netmask.map { ", netmask: \"\($0)\"" } ?? "") + (prefix.map { ", prefix: \($0)" } ?? "")
    let address = try ip.map { text in
      guard let parsed = IPAddress(text) else {
        throw CaravanError(
          .invalidInput, "machine '\(machine.name)': '\(text)' in `\(written)` is not an IPv4 or IPv6 address",
          hint: "Write an address like \"10.20.0.11\" or \"fd00:10::11\".")
      }
      return parsed
    }
    let ipv6 = address?.isIPv6 ?? false
    if ipv6, netmask != nil {
      throw CaravanError(
        .invalidInput, "machine '\(machine.name)': `\(written)` gives an IPv6 address a netmask",
        hint: "Write its prefix length instead: `prefix: 64`.")
    }
    let length =
      try prefix ?? netmask.map { try prefixLength($0, machine: machine, written: written) } ?? (ipv6 ? 64 : 24)
    let range = ipv6 ? 8...126 : 8...30
    guard range.contains(length) else {
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)': the prefix /\(length) in `\(written)` makes a subnet \(length > range.upperBound ? "too small for a host and machines" : "far too large")",
        hint: "Use a prefix between \(range.lowerBound) and \(range.upperBound) (\(ipv6 ? "64" : "24") is the default)."
      )
    }
    let subnet = IPSubnet(containing: address ?? .v4(IPv4Address(defaultDHCPSubnet) ?? IPv4Address(0)), prefix: length)
    if let address { try checkMachineAddress(address, in: subnet, machine: machine, written: written) }
    return PrivateLine(address: address, subnet: subnet, written: written)
  }

  static func prefixLength(_ netmask: String, machine: MachineSpec, written: String) throws -> Int {
    guard let prefix = IPv4Subnet.prefix(ofNetmask: netmask) else {
      throw CaravanError(
        .invalidInput, "machine '\(machine.name)': '\(netmask)' in `\(written)` is not a netmask",
        hint: "Write a netmask like \"255.255.255.0\".")
    }
    guard (8...30).contains(prefix) else {
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)': the netmask \(netmask) (/\(prefix)) in `\(written)` makes a subnet \(prefix > 30 ? "too small for a host and machines" : "of more than 16 million addresses")",
        hint: "Use a netmask between 255.0.0.0 and 255.255.255.252, such as \"255.255.255.0\" (the default).")
    }
    return prefix
  }

  static func checkMachineAddress(_ address: IPAddress, in subnet: IPSubnet, machine: MachineSpec, written: String)
    throws
  {
    let role: String? =
      address == subnet.networkAddress
      ? "the subnet's own address"
      : address == subnet.broadcast
        ? "its broadcast address"
        : address == subnet.hostAddress ? "the address the libvirt host takes on the network" : nil
    guard let role else { return }
    let lowest = subnet.hostAddress.advanced(by: 1)
    let example = subnet.hostAddress.advanced(by: 10)
    throw CaravanError(
      .invalidInput, "machine '\(machine.name)': \(address) in `\(written)` is \(role) (subnet \(subnet))",
      hint:
        "Pick another address in \(subnet), from \(lowest?.description ?? "the next") up, such as \(example?.description ?? "another")."
    )
  }

  /// Dual stack: on a machine, an IPv4 `network private` line and an IPv6 one
  /// written one right after the other share one libvirt network carrying both
  /// subnets (each line is still a NIC of its own). The answer maps each paired
  /// subnet to its partner; every machine of the project must pair a subnet with the same one.
  static func dualStack(_ project: Project) throws -> [IPSubnet: IPSubnet] {
    var partners: [IPSubnet: IPSubnet] = [:]
    var pairedBy: [IPSubnet: String] = [:]
    for machine in project.spec.machines {
      var previous: (subnet: IPSubnet, paired: Bool)?
      for network in machine.networks {
        guard case .privateNetwork(let ip, let netmask, let prefix) = network else {
          previous = nil
          continue
        }
        let line = try privateLine(ip: ip, netmask: netmask, prefix: prefix, machine: machine)
        guard let before = previous, !before.paired, before.subnet.isIPv6 != line.subnet.isIPv6 else {
          previous = (line.subnet, false)
          continue
        }
        previous = (line.subnet, true)
        for (one, other) in [(before.subnet, line.subnet), (line.subnet, before.subnet)] {
          if let existing = partners[one], existing != other {
            throw CaravanError(
              .invalidInput,
              "machine '\(machine.name)': `\(line.written)` pairs subnet \(one) with \(other) for dual stack, but machine '\(pairedBy[one] ?? "?")' pairs it with \(existing)",
              hint:
                "A subnet goes with one subnet of the other family: give the machines the same pair, or separate the lines with another `network` line."
            )
          }
          partners[one] = other
          pairedBy[one] = pairedBy[one] ?? machine.name
        }
      }
    }
    return partners
  }

  /// Every machine's interfaces, checked together: no address is given to two
  /// machines, and no two of the project's subnets overlap.
  public static func check(_ project: Project) throws -> [String: [MachineInterface]] {
    var result: [String: [MachineInterface]] = [:]
    var owners: [IPAddress: String] = [:]
    var subnets: [IPSubnet: String] = [:]
    let partners = try dualStack(project)
    for machine in project.spec.machines {
      let interfaces = try interfaces(of: machine, project: project, partners: partners)
      result[machine.name] = interfaces
      for interface in interfaces {
        guard case .privateNetwork(let network, let address, _) = interface.kind,
          // The line's own subnet: of its address's family (a DHCP line's is IPv4).
          let subnet = network.subnets.first(where: { $0.isIPv6 == (address?.isIPv6 ?? false) })
        else { continue }
        if let other = subnets.first(where: { $0.key != subnet && $0.key.overlaps(subnet) }) {
          throw CaravanError(
            .invalidInput,
            "machine '\(machine.name)': subnet \(subnet) of `\(interface.written)` overlaps subnet \(other.key) of machine '\(other.value)'",
            hint:
              "Give both the same \(subnet.isIPv6 ? "prefix" : "netmask"), so they share one network, or pick addresses in separate subnets."
          )
        }
        subnets[subnet] = subnets[subnet] ?? machine.name
        guard let address else { continue }
        if let other = owners[address] {
          throw CaravanError(
            .invalidInput,
            "machines '\(other)' and '\(machine.name)' both ask for \(address) on a private network",
            hint: "Give each machine its own `ip:` (with `count:`, each next instance takes the next address).")
        }
        owners[address] = machine.name
      }
    }
    return result
  }

  /// What on the libvirt host already uses one of `network`'s subnets, in words, or nil
  /// when nothing does: another libvirt network (Caravan's, naming its project,
  /// or anyone's) or a host route. The network itself (same name) does not count.
  public static func collision(of network: PrivateNetwork, in inventory: NetworkInventory) -> String? {
    for other in inventory.networks where other.name != network.name {
      guard let subnet = other.subnets.first(where: { theirs in network.subnets.contains { $0.overlaps(theirs) } })
      else { continue }
      guard let root = other.projectRoot else { return "libvirt network '\(other.name)' (\(subnet))" }
      let owner = root == network.projectRoot ? "this project" : "project \(root)"
      return "network '\(other.name)' (\(subnet)) of \(owner)"
    }
    let own = inventory.networks.first { $0.name == network.name }?.bridge
    let bridges = Set(inventory.networks.compactMap(\.bridge))
    for route in inventory.routes ?? []
    where route.subnet.prefix > 0 && network.subnets.contains(where: { $0.overlaps(route.subnet) }) {
      // The route of a libvirt network's own bridge was named with its network above.
      if route.interface == own || bridges.contains(route.interface) { continue }
      return "the host's route to \(route.subnet) on interface '\(route.interface)'"
    }
    return nil
  }
}
