import Foundation
import Host
import Spec
import Support

/// A libvirt network as the driver found it: for choosing subnets and for clean-up.
public struct ExistingNetwork: Sendable, Equatable {
  public var name: String
  /// Its subnets, IPv4 and IPv6 (a network without addresses has none).
  public var subnets: [IPSubnet]
  /// The host bridge libvirt made for it, when it runs or names one.
  public var bridge: String?
  /// The project folder in its Caravan metadata; nil for networks Caravan did not make.
  public var projectRoot: String?
  /// Domains (running or not) with an interface on it.
  public var users: [String]

  public init(name: String, subnets: [IPSubnet], bridge: String?, projectRoot: String?, users: [String]) {
    self.name = name
    self.subnets = subnets
    self.bridge = bridge
    self.projectRoot = projectRoot
    self.users = users
  }
}

/// A route of the libvirt host: a subnet reached through an interface.
public struct HostRoute: Sendable, Equatable {
  public var subnet: IPSubnet
  public var interface: String
  public init(subnet: IPSubnet, interface: String) {
    self.subnet = subnet
    self.interface = interface
  }
}

/// What the libvirt host has that a new network could collide with.
public struct NetworkInventory: Sendable, Equatable {
  public var networks: [ExistingNetwork]
  /// The host's IPv4 and IPv6 routes; nil when they cannot be read (a remote libvirt host:
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
/// host's address each subnet's first, DHCP on an IPv4 subnet's upper half, Caravan
/// metadata. Dual stack, it has an IPv4 and an IPv6 subnet.
public struct PrivateNetwork: Sendable, Equatable, Hashable {
  public var name: String
  /// One subnet, or an IPv4 and an IPv6 one (IPv4 first).
  public var subnets: [IPSubnet]
  public var projectRoot: String

  public init(name: String, subnets: [IPSubnet], projectRoot: String) {
    self.name = name
    self.subnets = subnets.sorted { !$0.isIPv6 && $1.isIPv6 }
    self.projectRoot = projectRoot
  }

  /// An IPv4-only network.
  public init(name: String, subnet: IPv4Subnet, projectRoot: String) {
    self.init(name: name, subnets: [.v4(subnet)], projectRoot: projectRoot)
  }

  /// `10.20.0.0/24`, or `10.20.0.0/24 and fd00:20::/64`.
  public var subnetsText: String { subnets.map(\.description).joined(separator: " and ") }
  /// The host's addresses on it, `10.20.0.1` or `10.20.0.1 and fd00:20::1`.
  public var hostText: String { subnets.map(\.hostAddress.description).joined(separator: " and ") }
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
    /// On a network Caravan makes; `address` nil: the guest asks DHCP (IPv4).
    case privateNetwork(PrivateNetwork, address: IPAddress?, prefix: Int)
    /// On an existing host bridge; the guest asks DHCP.
    case publicBridge(String)
  }
  public var kind: Kind
  public var mac: String
  /// The line as the Machinefile could write it, for messages.
  public var written: String

  public var attachment: NetworkAttachment {
    switch kind {
    case .privateNetwork(let network, _, _): return NetworkAttachment(source: .network(network.name), mac: mac)
    case .publicBridge(let bridge): return NetworkAttachment(source: .bridge(bridge), mac: mac)
    }
  }

  /// How the guest configures the NIC.
  public var guest: GuestInterface {
    switch kind {
    case .privateNetwork(_, let address?, let prefix):
      return GuestInterface(mac: mac, mode: .static(address, prefix: prefix), waitForAddress: true)
    case .privateNetwork:
      return GuestInterface(mac: mac, mode: .dhcp, waitForAddress: true)
    case .publicBridge:
      return GuestInterface(mac: mac, mode: .dhcp, waitForAddress: false)
    }
  }

  public var privateNetwork: PrivateNetwork? {
    if case .privateNetwork(let network, _, _) = kind { return network }
    return nil
  }
}
