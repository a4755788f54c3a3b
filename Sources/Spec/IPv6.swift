/// An IPv6 address as a number, for subnet arithmetic.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var value: UInt128

  public init(_ value: UInt128) { self.value = value }

  /// The text forms of RFC 4291 (section 2.2): eight groups of one to four hex
  /// digits, or fewer with one `::` standing for the zero groups left out.
  /// Embedded IPv4 (`::ffff:10.0.0.1`) and zone indexes (`%eth0`) are not taken.
  public init?(_ text: String) {
    guard text.count <= 39, text.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":") }) else { return nil }
    let halves = text.components(separatedBy: "::")
    guard halves.count <= 2 else { return nil }
    func groups(_ part: String) -> [UInt16]? {
      if part.isEmpty { return [] }
      var result: [UInt16] = []
      for group in part.split(separator: ":", omittingEmptySubsequences: false) {
        guard (1...4).contains(group.count), let number = UInt16(group, radix: 16) else { return nil }
        result.append(number)
      }
      return result
    }
    guard let head = groups(halves[0]) else { return nil }
    var all = head
    if halves.count == 2 {
      guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
      all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }
    guard all.count == 8 else { return nil }
    value = all.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
  }

  /// The eight 16-bit groups, most significant first.
  public var groups: [UInt16] { (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(112 - 16 * $0)) } }

  /// RFC 5952: lower case, no leading zeros, the longest run of two or more zero
  /// groups (the first of equal runs) written `::`.
  public var description: String {
    let groups = groups
    var best: Range<Int>?
    var start: Int?
    for index in 0...8 {
      if index < 8, groups[index] == 0 {
        if start == nil { start = index }
        continue
      }
      if let begin = start, index - begin >= 2, index - begin > (best?.count ?? 0) { best = begin..<index }
      start = nil
    }
    let text = { (part: ArraySlice<UInt16>) in part.map { String($0, radix: 16) }.joined(separator: ":") }
    guard let best else { return text(groups[...]) }
    return text(groups[..<best.lowerBound]) + "::" + text(groups[best.upperBound...])
  }

  public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 subnet, `fd00:10::/64`: its network address and prefix length.
public struct IPv6Subnet: Hashable, Sendable, CustomStringConvertible {
  public let network: IPv6Address
  public let prefix: Int

  /// The subnet of `prefix` bits that holds `address`.
  public init(containing address: IPv6Address, prefix: Int) {
    let prefix = max(0, min(128, prefix))
    self.prefix = prefix
    network = IPv6Address(address.value & IPv6Subnet.mask(prefix))
  }

  static func mask(_ prefix: Int) -> UInt128 { prefix == 0 ? 0 : UInt128.max << UInt128(128 - prefix) }

  public var mask: UInt128 { IPv6Subnet.mask(prefix) }
  /// Its highest address (IPv6 has no broadcast; it is a machine's like any other).
  public var last: IPv6Address { IPv6Address(network.value | ~mask) }

  public func contains(_ address: IPv6Address) -> Bool { address.value & mask == network.value }

  /// Whether the two share an address (one holds the other).
  public func overlaps(_ other: IPv6Subnet) -> Bool {
    let common = IPv6Subnet.mask(min(prefix, other.prefix))
    return network.value & common == other.network.value & common
  }

  /// The libvirt host's own address on a network Caravan makes: `…::1`.
  public var hostAddress: IPv6Address { IPv6Address(network.value + 1) }

  public var description: String { "\(network)/\(prefix)" }
}

/// An address of either family, as a `network private, ip:` names it.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
  case v4(IPv4Address)
  case v6(IPv6Address)

  public init?(_ text: String) {
    if let address = IPv4Address(text) {
      self = .v4(address)
    } else if let address = IPv6Address(text) {
      self = .v6(address)
    } else {
      return nil
    }
  }

  /// The address `offset` after this one; nil past the family's last address.
  public func advanced(by offset: Int) -> IPAddress? {
    guard offset >= 0 else { return nil }
    switch self {
    case .v4(let address):
      guard offset <= Int(UInt32.max) else { return nil }
      let (sum, overflow) = address.value.addingReportingOverflow(UInt32(offset))
      return overflow ? nil : .v4(IPv4Address(sum))
    case .v6(let address):
      let (sum, overflow) = address.value.addingReportingOverflow(UInt128(offset))
      return overflow ? nil : .v6(IPv6Address(sum))
    }
  }

  public var isIPv6: Bool {
    if case .v6 = self { return true }
    return false
  }

  public var description: String {
    switch self {
    case .v4(let address): return address.description
    case .v6(let address): return address.description
    }
  }
}

/// A subnet of either family.
public enum IPSubnet: Hashable, Sendable, CustomStringConvertible {
  case v4(IPv4Subnet)
  case v6(IPv6Subnet)

  /// The subnet of `prefix` bits holding `address`.
  public init(containing address: IPAddress, prefix: Int) {
    switch address {
    case .v4(let address): self = .v4(IPv4Subnet(containing: address, prefix: prefix))
    case .v6(let address): self = .v6(IPv6Subnet(containing: address, prefix: prefix))
    }
  }

  public var prefix: Int {
    switch self {
    case .v4(let subnet): return subnet.prefix
    case .v6(let subnet): return subnet.prefix
    }
  }

  /// Whether the two share an address; subnets of different families never do.
  public func overlaps(_ other: IPSubnet) -> Bool {
    switch (self, other) {
    case (.v4(let one), .v4(let two)): return one.overlaps(two)
    case (.v6(let one), .v6(let two)): return one.overlaps(two)
    default: return false
    }
  }

  public func contains(_ address: IPAddress) -> Bool {
    switch (self, address) {
    case (.v4(let subnet), .v4(let address)): return subnet.contains(address)
    case (.v6(let subnet), .v6(let address)): return subnet.contains(address)
    default: return false
    }
  }

  /// Its first address, the subnet's own.
  public var networkAddress: IPAddress {
    switch self {
    case .v4(let subnet): return .v4(subnet.network)
    case .v6(let subnet): return .v6(subnet.network)
    }
  }

  /// An IPv4 subnet's broadcast address; IPv6 has none.
  public var broadcast: IPAddress? {
    if case .v4(let subnet) = self { return .v4(subnet.broadcast) }
    return nil
  }

  public var isIPv6: Bool {
    if case .v6 = self { return true }
    return false
  }

  /// The libvirt host's address on a network Caravan makes.
  public var hostAddress: IPAddress {
    switch self {
    case .v4(let subnet): return .v4(subnet.hostAddress)
    case .v6(let subnet): return .v6(subnet.hostAddress)
    }
  }

  /// The highest address a machine may take: before an IPv4 subnet's broadcast
  /// address; an IPv6 subnet's last.
  public var lastHostAddress: IPAddress {
    switch self {
    case .v4(let subnet): return .v4(IPv4Address(subnet.broadcast.value &- 1))
    case .v6(let subnet): return .v6(subnet.last)
    }
  }

  public var description: String {
    switch self {
    case .v4(let subnet): return subnet.description
    case .v6(let subnet): return subnet.description
    }
  }
}
