import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Holds a TCP port on 127.0.0.1 open while a test runs.
public final class PortBlocker {
  var fd: Int32
  /// Listens on 127.0.0.1:`port`; throws EADDRINUSE when something holds it already.
  public init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0, listen(fd, 1) == 0 else {
      Glibc.close(fd)
      throw POSIXError(.EADDRINUSE)
    }
  }
  /// Frees the port; again is nothing.
  public func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }
}
