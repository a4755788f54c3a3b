import Foundation
import Spec
import Support

/// Host port choice for forwards: a wanted port if it is free, else (with
/// auto-correct) the first free one in Vagrant's range 2200–2250.
public struct PortAllocator {
  public static let correctionRange = 2200...2250
  /// Ports chosen in this run, so two forwards never get the same one.
  private var taken: Set<String> = []
  private let isFree: (TransportProtocol, String, Int) -> Bool

  public init(isFree: @escaping (TransportProtocol, String, Int) -> Bool = PortAllocator.canBind) {
    self.isFree = isFree
  }

  private func key(_ transport: TransportProtocol, _ ip: String, _ port: Int) -> String { "\(transport) \(ip) \(port)" }

  /// The port to use for `wanted`, and whether it differs.
  public mutating func allocate(
    _ transport: TransportProtocol, hostIP: String, wanted: Int, autoCorrect: Bool,
    what: String, preferring previous: Int? = nil
  ) throws -> Int {
    if !taken.contains(key(transport, hostIP, wanted)), isFree(transport, hostIP, wanted) {
      taken.insert(key(transport, hostIP, wanted))
      return wanted
    }
    guard autoCorrect else {
      throw CaravanError(
        .conflict, "host port \(hostIP):\(wanted) for \(what) is already in use",
        hint: "Free the port, choose another one, or allow `auto_correct: true` on the forward.")
    }
    // The port used last time first, so a machine keeps its ports across halt/up.
    for port in [previous].compactMap({ $0 }) + Array(PortAllocator.correctionRange)
    where !taken.contains(key(transport, hostIP, port)) && isFree(transport, hostIP, port) {
      taken.insert(key(transport, hostIP, port))
      return port
    }
    throw CaravanError(
      .conflict, "no free host port for \(what): \(wanted) and all of \(PortAllocator.correctionRange) are in use",
      hint: "Free a port in that range or stop other machines.")
  }

  /// True when QEMU could bind `ip:port` now: a probe socket binds it as
  /// QEMU's own does. For TCP that is with `SO_REUSEADDR`, so a port whose
  /// last connections sit in TIME_WAIT (a machine just halted) counts as free,
  /// while a port another socket listens on does not. `ip` is IPv4 or IPv6
  /// (`::1`, also written `[::1]`); anything else counts as not bindable.
  public static func canBind(_ transport: TransportProtocol, _ ip: String, _ port: Int) -> Bool {
    guard let address = SocketAddress(ip, port: port) else { return false }
    let fd = socket(address.family, Int32(transport == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if transport == .tcp {
      // As QEMU binds its forwards: a port whose last connections sit in
      // TIME_WAIT (after a `halt`) is free; one another socket listens on is not.
      // Not for UDP: there it would let two sockets share a port, so a taken one would look free.
      var on: Int32 = 1
      guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
        return false
      }
    }
    return address.withSockaddr { bind(fd, $0, $1) } == 0
  }
}

/// An IPv4 or IPv6 socket address, for the port probe.
struct SocketAddress {
  private var storage = sockaddr_storage()
  let family: Int32
  private let length: socklen_t

  /// nil when `ip` is neither an IPv4 nor an IPv6 address.
  init?(_ ip: String, port: Int) {
    guard (0...65535).contains(port) else { return nil }
    let bare = ip.hasPrefix("[") && ip.hasSuffix("]") ? String(ip.dropFirst().dropLast()) : ip
    let portBytes = in_port_t(UInt16(port).bigEndian)
    var v4 = sockaddr_in()
    var v6 = sockaddr_in6()
    if inet_pton(AF_INET, bare, &v4.sin_addr) == 1 {
      v4.sin_family = sa_family_t(AF_INET)
      v4.sin_port = portBytes
      family = AF_INET
      length = socklen_t(MemoryLayout<sockaddr_in>.size)
      withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: v4) { target.copyMemory(from: $0) } }
    } else if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
      v6.sin6_family = sa_family_t(AF_INET6)
      v6.sin6_port = portBytes
      family = AF_INET6
      length = socklen_t(MemoryLayout<sockaddr_in6>.size)
      withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: v6) { target.copyMemory(from: $0) } }
    } else {
      return nil
    }
  }

  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
  }
}
