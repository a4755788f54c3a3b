import Testing

@testable import Spec

/// IPv6 text (RFC 4291 in, RFC 5952 out), subnet arithmetic of both families, and
/// the next addresses a `count:` machine's instances take.
struct IPAddressTests {
  @Test func ipv6TextIsReadInEveryFormAndWrittenInTheShortOne() throws {
    for (text, canonical) in [
      ("fd00:10::11", "fd00:10::11"), ("FD00:0010:0000:0000:0000:0000:0000:0011", "fd00:10::11"),
      ("::", "::"), ("::1", "::1"), ("fe80::", "fe80::"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
      ("2001:db8::0:1", "2001:db8::1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
      ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("0:0:1:0:0:0:0:0", "0:0:1::"),
    ] {
      let address = try #require(IPv6Address(text), "\(text)")
      #expect(address.description == canonical, "\(text)")
      #expect(IPv6Address(canonical) == address, "round trip of \(text)")
    }
    #expect(IPv6Address("fd00:10::11")?.value == 0xfd00_0010_0000_0000_0000_0000_0000_0011)
    for bad in [
      "", ":", "fd00:10:::11", "fd00::10::11", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1",
      "::ffff:10.0.0.1", "fe80::1%eth0", "1:2:3:4:5:6:7::8", " ::1",
    ] {
      #expect(IPv6Address(bad) == nil, "\(bad)")
    }
    #expect(IPAddress("10.20.0.11") == .v4(IPv4Address(0x0a14_000b)))
    #expect(IPAddress("fd00::1")?.isIPv6 == true && IPAddress("fd00::1.2") == nil)
  }

  @Test func subnetsOfBothFamilies() throws {
    let address = try #require(IPv6Address("fd00:10::11"))
    let subnet = IPv6Subnet(containing: address, prefix: 64)
    #expect(subnet.description == "fd00:10::/64" && subnet.hostAddress.description == "fd00:10::1")
    #expect(subnet.last.description == "fd00:10::ffff:ffff:ffff:ffff")
    let outside = try #require(IPv6Address("fd00:11::11"))
    #expect(subnet.contains(address) && !subnet.contains(outside))
    let wide = IPv6Subnet(containing: address, prefix: 48)
    #expect(wide.overlaps(subnet) && subnet.overlaps(wide))
    #expect(!subnet.overlaps(IPv6Subnet(containing: try #require(IPv6Address("fd00:10:0:1::")), prefix: 64)))
    let v4 = IPSubnet.v4(try #require(IPv4Subnet("10.20.0.0/24")))
    let v6 = IPSubnet.v6(subnet)
    #expect(!v4.overlaps(v6) && !v6.contains(.v4(IPv4Address(0x0a14_000b))), "families never overlap")
    #expect(
      v4.lastHostAddress.description == "10.20.0.254" && v6.lastHostAddress.description == subnet.last.description)
    #expect(v4.broadcast?.description == "10.20.0.255" && v6.broadcast == nil)
    #expect(v6.networkAddress.description == "fd00:10::" && v6.hostAddress.description == "fd00:10::1")
  }

  @Test func nextAddresses() throws {
    #expect(IPAddress("10.20.0.100")?.advanced(by: 2)?.description == "10.20.0.102")
    #expect(IPAddress("10.20.0.255")?.advanced(by: 1)?.description == "10.20.1.0")
    #expect(IPAddress("255.255.255.255")?.advanced(by: 1) == nil)
    #expect(IPAddress("fd00:10::ff")?.advanced(by: 1)?.description == "fd00:10::100")
    #expect(IPAddress("fd00:10::ffff:ffff:ffff:ffff")?.advanced(by: 1)?.description == "fd00:10:0:1::")
    #expect(IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")?.advanced(by: 1) == nil)
    #expect(IPAddress("fd00::1")?.advanced(by: -1) == nil)
  }
}
