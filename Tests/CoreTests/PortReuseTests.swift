import Foundation
import Host
import Testing

@testable import Core

/// A port whose last connection sits in TIME_WAIT is free for the next `up`
/// (QEMU binds with SO_REUSEADDR too), so a machine keeps its ports across
/// `halt`/`up` and `reload`.
struct PortReuseTests {
  @Test func aPortInTimeWaitIsFree() throws {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    // QEMU's forwards (slirp) listen with SO_REUSEADDR; their connections inherit it.
    var on: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try #require(withSockaddr(&address) { bind(listener, $0, length) } == 0)
    listen(listener, 1)
    _ = withSockaddr(&address) { getsockname(listener, $0, &length) }
    let port = Int(UInt16(bigEndian: address.sin_port))

    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(withSockaddr(&address) { connect(client, $0, length) } == 0)
    let served = accept(listener, nil, nil)
    try #require(served >= 0)
    // The listening side closes first, as a guest's sshd does: its port goes to TIME_WAIT.
    close(served)
    var byte: UInt8 = 0
    _ = read(client, &byte, 1)
    close(client)
    close(listener)
    #expect(PortAllocator.canBind(.tcp, "127.0.0.1", port))
    // A socket that really listens there still makes the port busy.
    let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(holder) }
    setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    try #require(withSockaddr(&address) { bind(holder, $0, length) } == 0)
    listen(holder, 1)
    #expect(!PortAllocator.canBind(.tcp, "127.0.0.1", port))
  }

  private func withSockaddr<T>(_ address: inout sockaddr_in, _ body: (UnsafeMutablePointer<sockaddr>) -> T) -> T {
    withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
  }
}
