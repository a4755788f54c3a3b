import Foundation
import Host
import Spec
import Support

/// A libvirt network as the driver found it: for choosing subnets and for clean-up.
public struct ExistingNetwork: Sendable, Equatable {
  public var name: String
  /// Its IPv4 subnets (a network without addresses has none).
  public var subnets: [IPv4Subnet]
  /// The host bridge libvirt made for it, when it runs or names one.
  public var bridge: String?
  /// The project folder in its Caravan metadata; nil for networks Caravan did not make.
  public var projectRoot: String?
  /// Domains (running or not) with an interface on it.
  public var users: [String]

  public init(name: String, subnets: [IPv4Subnet], bridge: String?, projectRoot: String?, users: [String]) {
    self.name = name
    self.subnets = subnets
    self.bridge = bridge
    self.projectRoot = projectRoot
    self.users = users
  }
}

/// A route of the libvirt host: a subnet reached through an interface.
public struct HostRoute: Sendable, Equatable {
  public var subnet: IPv4Subnet
  public var interface: String
  public init(subnet: IPv4Subnet, interface: String) {
    self.subnet = subnet
    self.interface = interface
  }
}

/// What the libvirt host has that a new network could collide with.
public struct NetworkInventory: Sendable, Equatable {
  public var networks: [ExistingNetwork]
  /// The host's IPv4 routes; nil when they cannot be read (a remote libvirt host:
  /// libvirt's own check refuses a colliding network when it starts it).
  public var routes: [HostRoute]?
  /// The host's bridges by name; nil when they cannot be read (a remote host).
  public var bridges: [String]?

  public init(networks: [ExistingNetwork], routes: [HostRoute]?, bridges: [String]?) {
    self.networks = networks
    self.routes = routes
    self.bridges = bridges
  }
}

/// A network Caravan defines for `network private`: isolated (no forwarding), the
/// host's address the subnet's first, DHCP on its upper half, Caravan metadata.
public struct PrivateNetwork: Sendable, Equatable, Hashable {
  public var name: String
  public var subnet: IPv4Subnet
  public var projectRoot: String

  public init(name: String, subnet: IPv4Subnet, projectRoot: String) {
    self.name = name
    self.subnet = subnet
    self.projectRoot = projectRoot
  }
}

/// One NIC of a machine besides its management NIC (QEMU user-mode networking).
public struct NetworkAttachment: Sendable, Equatable {
  public enum Source: Sendable, Equatable {
    /// A libvirt network by name.
    case network(String)
    /// An existing bridge of the libvirt host.
    case bridge(String)
  }
  public var source: Source
  /// `52:54:00:…`, fixed per machine and NIC, so the guest's configuration finds it.
  public var mac: String

  public init(source: Source, mac: String) {
    self.source = source
    self.mac = mac
  }
}

/// What one `network` line of a machine comes to.
public struct MachineInterface: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// On a network Caravan makes; `address` nil: the guest asks DHCP.
    case privateNetwork(PrivateNetwork, address: IPv4Address?)
    /// On an existing host bridge; the guest asks DHCP.
    case publicBridge(String)
  }
  public var kind: Kind
  public var mac: String
  /// The line as the Machinefile could write it, for messages.
  public var written: String

  public var attachment: NetworkAttachment {
    switch kind {
    case .privateNetwork(let network, _): return NetworkAttachment(source: .network(network.name), mac: mac)
    case .publicBridge(let bridge): return NetworkAttachment(source: .bridge(bridge), mac: mac)
    }
  }

  /// How the guest configures the NIC.
  public var guest: GuestInterface {
    switch kind {
    case .privateNetwork(let network, let address?):
      return GuestInterface(mac: mac, mode: .static(address, prefix: network.subnet.prefix), waitForAddress: true)
    case .privateNetwork:
      return GuestInterface(mac: mac, mode: .dhcp, waitForAddress: true)
    case .publicBridge:
      return GuestInterface(mac: mac, mode: .dhcp, waitForAddress: false)
    }
  }

  public var privateNetwork: PrivateNetwork? {
    if case .privateNetwork(let network, _) = kind { return network }
    return nil
  }
}

/// The `network` settings of a project, resolved: subnets, network names, MAC
/// addresses, and the checks that need no libvirt.
public enum NetworkLayout {
  /// The subnet of `network private, dhcp: true` without an address (Vagrant's).
  public static let defaultDHCPSubnet = "172.28.128.0"

  /// `caravan-<folder>-<subnet>-<project id>`: recognisable in `virsh net-list`, one per project and subnet.
  public static func networkName(_ subnet: IPv4Subnet, project: Project) -> String {
    "caravan-\(project.shortName)-\(subnet.network)-\(subnet.prefix)-\(project.id)"
  }

  /// A MAC address with QEMU's usual prefix (52:54:00), the same for the machine's n-th NIC every time.
  public static func mac(domain: String, index: Int) -> String {
    let hash = StableHash.fnv1a64("\(domain)#network\(index)")
    let bytes = [16, 8, 0].map { String(format: "%02x", (hash >> UInt64($0)) & 0xff) }
    return "52:54:00:" + bytes.joined(separator: ":")
  }

  /// Each `network` line of the machine, checked: a private address must be a
  /// machine's (not the subnet's own, its broadcast or the host's first address),
  /// a public network must name its bridge.
  public static func interfaces(of machine: MachineSpec, project: Project) throws -> [MachineInterface] {
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
      case .privateNetwork(let ip, let netmask):
        let written =
          "network private, " + (ip.map { "ip: \"\($0)\"" } ?? "dhcp: true")
          + (netmask.map { ", netmask: \"\($0)\"" } ?? "")
        let prefix = try netmask.map { try prefixLength($0, machine: machine, written: written) } ?? 24
        let address = try ip.map { text in
          guard let parsed = IPv4Address(text) else {
            throw CaravanError(
              .invalidInput, "machine '\(machine.name)': '\(text)' in `\(written)` is not an IPv4 address",
              hint: "Write an address like \"10.20.0.11\".")
          }
          return parsed
        }
        let subnet = IPv4Subnet(
          containing: address ?? IPv4Address(defaultDHCPSubnet) ?? IPv4Address(0), prefix: prefix)
        if let address { try checkMachineAddress(address, in: subnet, machine: machine, written: written) }
        let onto = PrivateNetwork(
          name: networkName(subnet, project: project), subnet: subnet, projectRoot: project.root)
        return MachineInterface(kind: .privateNetwork(onto, address: address), mac: mac, written: written)
      }
    }
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

  static func checkMachineAddress(_ address: IPv4Address, in subnet: IPv4Subnet, machine: MachineSpec, written: String)
    throws
  {
    let role: String? =
      address == subnet.network
      ? "the subnet's own address"
      : address == subnet.broadcast
        ? "its broadcast address"
        : address == subnet.hostAddress ? "the address the libvirt host takes on the network" : nil
    guard let role else { return }
    let lowest = IPv4Address(subnet.hostAddress.value + 1)
    throw CaravanError(
      .invalidInput, "machine '\(machine.name)': \(address) in `\(written)` is \(role) (subnet \(subnet))",
      hint: "Pick another address in \(subnet), from \(lowest) up, such as \(IPv4Address(lowest.value + 9)).")
  }

  /// Every machine's interfaces, checked together: no address is given to two
  /// machines, and no two of the project's subnets overlap.
  public static func check(_ project: Project) throws -> [String: [MachineInterface]] {
    var result: [String: [MachineInterface]] = [:]
    var owners: [IPv4Address: String] = [:]
    var subnets: [IPv4Subnet: String] = [:]
    for machine in project.spec.machines {
      let interfaces = try interfaces(of: machine, project: project)
      result[machine.name] = interfaces
      for interface in interfaces {
        guard case .privateNetwork(let network, let address) = interface.kind else { continue }
        if let other = subnets.first(where: { $0.key != network.subnet && $0.key.overlaps(network.subnet) }) {
          throw CaravanError(
            .invalidInput,
            "machine '\(machine.name)': subnet \(network.subnet) of `\(interface.written)` overlaps subnet \(other.key) of machine '\(other.value)'",
            hint: "Give both the same netmask, so they share one network, or pick addresses in separate subnets.")
        }
        subnets[network.subnet] = subnets[network.subnet] ?? machine.name
        guard let address else { continue }
        if let other = owners[address] {
          throw CaravanError(
            .invalidInput,
            "machines '\(other)' and '\(machine.name)' both ask for \(address) on a private network",
            hint: "Give each machine its own `ip:` (a `count:` machine can use \"10.20.0.1${index}\").")
        }
        owners[address] = machine.name
      }
    }
    return result
  }

  /// What on the libvirt host already uses `network`'s subnet, in words, or nil
  /// when nothing does: another libvirt network (Caravan's, naming its project,
  /// or anyone's) or a host route. The network itself (same name) does not count.
  public static func collision(of network: PrivateNetwork, in inventory: NetworkInventory) -> String? {
    for other in inventory.networks where other.name != network.name {
      guard let subnet = other.subnets.first(where: { $0.overlaps(network.subnet) }) else { continue }
      guard let root = other.projectRoot else { return "libvirt network '\(other.name)' (\(subnet))" }
      let owner = root == network.projectRoot ? "this project" : "project \(root)"
      return "network '\(other.name)' (\(subnet)) of \(owner)"
    }
    let own = inventory.networks.first { $0.name == network.name }?.bridge
    let bridges = Set(inventory.networks.compactMap(\.bridge))
    for route in inventory.routes ?? [] where route.subnet.prefix > 0 && route.subnet.overlaps(network.subnet) {
      // The route of a libvirt network's own bridge was named with its network above.
      if route.interface == own || bridges.contains(route.interface) { continue }
      return "the host's route to \(route.subnet) on interface '\(route.interface)'"
    }
    return nil
  }
}
