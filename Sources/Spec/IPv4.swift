/// An IPv4 address as a number, for subnet arithmetic.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var value: UInt32

  public init(_ value: UInt32) { self.value = value }

  /// A dotted quad, `10.20.0.11`: four decimal numbers 0...255, nothing else.
  public init?(_ text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
      value = value << 8 | UInt32(byte)
    }
    self.value = value
  }

  public var description: String {
    [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
  }

  public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv4 subnet, `10.20.0.0/24`: its network address and prefix length.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
  public let network: IPv4Address
  public let prefix: Int

  /// The subnet of `prefix` bits that holds `address`.
  public init(containing address: IPv4Address, prefix: Int) {
    let prefix = max(0, min(32, prefix))
    self.prefix = prefix
    network = IPv4Address(address.value & IPv4Subnet.mask(prefix))
  }

  /// `10.20.0.0/24` (an address inside the subnet is taken as the subnet).
  public init?(_ cidr: String) {
    let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let address = IPv4Address(String(parts[0])), let prefix = Int(parts[1]),
      (0...32).contains(prefix)
    else { return nil }
    self.init(containing: address, prefix: prefix)
  }

  /// The prefix length of a netmask like `255.255.255.0`; nil when its ones are not contiguous.
  public static func prefix(ofNetmask text: String) -> Int? {
    guard let mask = IPv4Address(text) else { return nil }
    let ones = mask.value.nonzeroBitCount
    return mask.value == IPv4Subnet.mask(ones) ? ones : nil
  }

  static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

  public var mask: UInt32 { IPv4Subnet.mask(prefix) }
  public var netmask: IPv4Address { IPv4Address(mask) }
  public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
  /// How many addresses it spans, network and broadcast included.
  public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }

  public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }

  /// Whether the two share an address (one holds the other).
  public func overlaps(_ other: IPv4Subnet) -> Bool {
    let shorter = min(prefix, other.prefix)
    let common = IPv4Subnet.mask(shorter)
    return network.value & common == other.network.value & common
  }

  /// The libvirt host's own address on a network Caravan makes: the first one.
  public var hostAddress: IPv4Address { IPv4Address(network.value + 1) }

  /// The addresses a DHCP server hands out: the upper half, without the broadcast address
  /// (the lower half is for static addresses); nil when the subnet is too small for any.
  public var dhcpRange: ClosedRange<IPv4Address>? {
    guard prefix <= 30 else { return nil }
    let start = max(network.value + 2, network.value + UInt32(size / 2))
    let end = broadcast.value - 1
    return start <= end ? IPv4Address(start)...IPv4Address(end) : nil
  }

  public var description: String { "\(network)/\(prefix)" }
}
