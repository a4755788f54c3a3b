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

  /// True when a socket can bind `ip:port` now.
  public static func canBind(_ transport: TransportProtocol, _ ip: String, _ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(transport == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    // As QEMU binds its forwards: a port whose last connections sit in
    // TIME_WAIT (after a `halt`) is free; one another socket listens on is not.
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return false }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
  }
}
