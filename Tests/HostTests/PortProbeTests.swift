import Foundation
import Testing

@testable import Host

/// The port probe against real loopback sockets: a port whose last
/// connection sits in TIME_WAIT is free (QEMU binds it with SO_REUSEADDR), a
/// listening one is not, on IPv4 and IPv6 alike.
struct PortProbeTests {
  /// A TCP socket bound to `ip` on a free port, listening; returns it and the
  /// port. With SO_REUSEADDR, as QEMU's hostfwd listener has it (and the
  /// connections it accepts inherit: Linux lets a new bind share a port with
  /// a TIME_WAIT only when both have the flag).
  static func listener(_ ip: String) throws -> (fd: Int32, port: Int) {
    let address = try #require(SocketAddress(ip, port: 0))
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    var on: Int32 = 1
    try #require(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0)
    try #require(address.withSockaddr { bind(fd, $0, $1) } == 0, "bind \(ip): \(String(cString: strerror(errno)))")
    try #require(listen(fd, 4) == 0)
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    let port = withUnsafeBytes(of: storage) { raw in
      // sin_port and sin6_port sit at the same offset, just after the family.
      UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
    }
    return (fd, Int(port))
  }

  /// Connects to `ip:port`; returns the client socket.
  static func connectTo(_ ip: String, _ port: Int) throws -> Int32 {
    let address = try #require(SocketAddress(ip, port: port))
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
    try #require(address.withSockaddr { connect(fd, $0, $1) } == 0, "connect: \(String(cString: strerror(errno)))")
    return fd
  }

  /// Sockets in TIME_WAIT whose local port is `port`, from /proc/net/tcp and tcp6.
  static func timeWaitCount(port: Int) -> Int {
    let hex = String(format: ":%04X", port)
    return ["/proc/net/tcp", "/proc/net/tcp6"].reduce(0) { count, file in
      // Read to the end: /proc files report size 0, and a reader that trusts the
      // size stops after the first page when many sockets are listed.
      let data = FileHandle(forReadingAtPath: file)?.readDataToEndOfFile() ?? Data()
      let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst()
      return count
        + lines.filter { line in
          let fields = line.split(separator: " ")
          return fields.count > 3 && fields[1].hasSuffix(hex) && fields[3] == "06"
        }.count
    }
  }

  /// A plain bind without SO_REUSEADDR, as the probe did before.
  static func bindsWithoutReuse(_ ip: String, _ port: Int) -> Bool {
    guard let address = SocketAddress(ip, port: port) else { return false }
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    return address.withSockaddr { bind(fd, $0, $1) } == 0
  }

  /// Leaves a connection to a listener on `ip` in TIME_WAIT on the listener's
  /// side (the accepted socket closes first), and the listener closed; returns the port.
  static func portInTimeWait(_ ip: String) throws -> Int {
    let (server, port) = try listener(ip)
    let client = try connectTo(ip, port)
    let accepted = accept(server, nil, nil)
    try #require(accepted >= 0)
    close(accepted)  // the active close (QEMU's, when its guest goes): TIME_WAIT lands on ip:port
    var byte: UInt8 = 0
    #expect(read(client, &byte, 1) == 0, "the client sees the server's FIN")
    close(client)
    close(server)
    for _ in 0..<50 where timeWaitCount(port: port) == 0 { usleep(20_000) }
    return port
  }

  @Test(arguments: ["127.0.0.1", "::1"])
  func aPortInTimeWaitIsFreeAListeningOneIsNot(ip: String) throws {
    let port = try PortProbeTests.portInTimeWait(ip)
    try #require(PortProbeTests.timeWaitCount(port: port) > 0, "the test really left a TIME_WAIT on \(port)")
    #expect(!PortProbeTests.bindsWithoutReuse(ip, port), "without SO_REUSEADDR the port looks taken")
    #expect(PortAllocator.canBind(.tcp, ip, port), "QEMU could bind it, so the probe says free")

    // A socket listening on the port again makes it taken, TIME_WAIT or not.
    let again = try #require(SocketAddress(ip, port: port))
    let fd = socket(again.family, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    try #require(again.withSockaddr { bind(fd, $0, $1) } == 0)
    try #require(listen(fd, 1) == 0)
    #expect(!PortAllocator.canBind(.tcp, ip, port))
  }

  @Test func ipv6HostAddressesAreProbedAsIPv6() throws {
    let (fd, port) = try PortProbeTests.listener("::1")
    #expect(!PortAllocator.canBind(.tcp, "::1", port))
    #expect(!PortAllocator.canBind(.tcp, "[::1]", port), "the bracketed form is the same address")
    close(fd)
    #expect(PortAllocator.canBind(.tcp, "::1", port))
    #expect(PortAllocator.canBind(.tcp, "[::1]", port))
  }

  @Test func udpPortsAreStillSeenTaken() throws {
    let address = try #require(SocketAddress("127.0.0.1", port: 0))
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    try #require(address.withSockaddr { bind(fd, $0, $1) } == 0)
    var storage = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    #expect(!PortAllocator.canBind(.udp, "127.0.0.1", Int(UInt16(bigEndian: storage.sin_port))))
  }

  @Test func whatIsNotAnAddressIsNotBindable() {
    #expect(!PortAllocator.canBind(.tcp, "localhost", 2222))
    #expect(!PortAllocator.canBind(.tcp, "127.0.0.1", 70000))
  }
}
