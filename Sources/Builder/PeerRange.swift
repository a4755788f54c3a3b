import Foundation

/// An IPv4 range (`10.0.2.0/24`) of peers the build's HTTP server answers.
///
/// Under QEMU's user-mode network (the build VM's), the guest's connections are made by
/// QEMU's slirp on the host, so they come from 127.0.0.1 like any local program's: the
/// server can tell the guest from another host (it refuses every non-loopback peer), but
/// not from another process on this host while the build runs.
public struct PeerRange: Sendable, Equatable {
  public let network: UInt32
  public let prefixLength: Int

  public static let loopback = PeerRange(network: 0x7F00_0000, prefixLength: 8)

  init(network: UInt32, prefixLength: Int) {
    self.network = network
    self.prefixLength = prefixLength
  }

  /// `A.B.C.D/N` (or one address, `/32`); nil when it is not one.
  public init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let address = PeerRange.parse(String(parts[0])) else { return nil }
    let length = parts.count == 2 ? Int(parts[1]) : 32
    guard let length, (0...32).contains(length) else { return nil }
    self.init(network: address & PeerRange.mask(length), prefixLength: length)
  }

  public func contains(_ ip: String) -> Bool {
    guard let address = PeerRange.parse(ip) else { return false }
    return address & PeerRange.mask(prefixLength) == network
  }

  static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << (32 - length) }

  static func parse(_ text: String) -> UInt32? {
    let octets = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
    guard octets.count == 4, text.split(separator: ".").allSatisfy({ $0.count <= 3 }) else { return nil }
    return octets.reduce(0) { $0 << 8 | UInt32($1) }
  }
}
