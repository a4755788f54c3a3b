import Foundation
import Support

/// Whether an SSH server answers on `host:port`: its banner ("SSH-2.0-…")
/// arrives within `timeout` seconds. No login, so no key is needed.
public enum SSHBanner {
  public static func answers(host: String, port: Int, timeout: Double) -> Bool {
    guard let address = SocketAddress(host, port: port) else { return false }
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return false }
    var buffer = [UInt8](repeating: 0, count: 4)
    var got = 0
    while got < 4 {
      let count = buffer.withUnsafeMutableBytes { bytes in
        bytes.baseAddress.map { read(fd, $0 + got, 4 - got) } ?? -1
      }
      if count <= 0 { return false }
      got += count
    }
    return buffer == Array("SSH-".utf8)
  }
}
