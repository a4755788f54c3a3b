import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A socket listening on 127.0.0.1:`port`, as another program (a parallel suite's
/// guest, another user's) would hold it, until `close()`.
final class PortHolder {
  private var fd: Int32

  init(_ port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard fd >= 0, bound == 0, listen(fd, 1) == 0 else {
      let reason = String(cString: strerror(errno))
      close()
      throw CocoaError(
        .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot hold 127.0.0.1:\(port): \(reason)"])
    }
  }

  func close() {
    if fd >= 0 { _ = Glibc.close(fd) }
    fd = -1
  }

  deinit { close() }
}
