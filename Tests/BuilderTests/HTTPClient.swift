import Foundation
import Support
import TestSupport

/// A folder under the system's temporary folder, removed with everything in it on deinit.
final class TemporaryFolder: Sendable {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.path + "/caravan-builder-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  @discardableResult
  func write(_ relative: String, _ contents: String) throws -> String {
    try write(relative, Data(contents.utf8))
  }

  @discardableResult
  func write(_ relative: String, _ data: Data) throws -> String {
    let file = path + "/" + relative
    try FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: file))
    return file
  }

  func folder(_ relative: String) throws -> String {
    let folder = path + "/" + relative
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }

  func link(_ relative: String, to destination: String) throws {
    try FileManager.default.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: destination)
  }
}

struct HTTPReply: Sendable {
  var status: Int
  /// Header names in lowercase.
  var headers: [String: String]
  var body: Data

  var text: String { String(decoding: body, as: UTF8.self) }
}

/// HTTP/1.1 over a plain socket to 127.0.0.1, with the request line sent exactly as given (no
/// client normalises `..` or percent-encoding away), read until the server closes.
enum RawHTTP {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func get(
    _ target: String, port: UInt16, method: String = "GET", headers: [String] = [], from source: String? = nil
  ) async throws -> HTTPReply {
    let request =
      (["\(method) \(target) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Connection: close"] + headers + ["", ""])
      .joined(separator: "\r\n")
    let raw = try await onThread { try exchange(Data(request.utf8), port: port, from: source) }
    return try parse(raw)
  }

  /// A connected socket to 127.0.0.1:`port` with 10 s send and receive timeouts, from
  /// `source` (another loopback address, such as 127.0.0.2) when given.
  static func connectLoopback(port: UInt16, from source: String? = nil) throws -> Int32 {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    if let source {
      var local = sockaddr_in()
      local.sin_family = sa_family_t(AF_INET)
      local.sin_addr.s_addr = inet_addr(source)
      let bound = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      guard bound == 0 else {
        close(socket)
        throw Failure(description: "bind to \(source): \(String(cString: strerror(errno)))")
      }
    }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      let error = String(cString: strerror(errno))
      close(socket)
      throw Failure(description: "connect to 127.0.0.1:\(port): \(error)")
    }
    return socket
  }

  static func send(_ data: Data, on socket: Int32) throws {
    try data.withUnsafeBytes { buffer in
      guard let base = buffer.baseAddress else { return }
      var sent = 0
      while sent < buffer.count {
        let n = Foundation.send(socket, base + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
        guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
        sent += n
      }
    }
  }

  /// Reads until the server closes the connection.
  static func readAll(from socket: Int32) throws -> Data {
    var received = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = recv(socket, &buffer, buffer.count, 0)
      if n == 0 { return received }
      guard n > 0 else { throw Failure(description: "recv: \(String(cString: strerror(errno)))") }
      received.append(contentsOf: buffer[0..<n])
    }
  }

  /// Reads up to `marker` and `count` bytes more, leaving the connection open.
  static func read(count: Int, after marker: String, from socket: Int32) throws -> Data {
    var received = Data()
    var byte: UInt8 = 0
    while received.range(of: Data(marker.utf8)) == nil {
      guard recv(socket, &byte, 1, 0) == 1 else { throw Failure(description: "no '\(marker)' before the end") }
      received.append(byte)
    }
    var buffer = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
      let n = buffer.withUnsafeMutableBytes { bytes in
        bytes.baseAddress.map { recv(socket, $0 + got, count - got, 0) } ?? -1
      }
      guard n > 0 else { throw Failure(description: "the body ended after \(got) of \(count) bytes") }
      got += n
    }
    return received + Data(buffer)
  }

  static func exchange(_ request: Data, port: UInt16, from source: String? = nil) throws -> Data {
    let socket = try connectLoopback(port: port, from: source)
    defer { close(socket) }
    try send(request, on: socket)
    return try readAll(from: socket)
  }

  static func parse(_ raw: Data) throws -> HTTPReply {
    guard let end = raw.range(of: Data("\r\n\r\n".utf8)) else {
      throw Failure(description: "no complete response head in \(raw.count) bytes")
    }
    let lines = String(decoding: raw[raw.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    let statusFields = lines[0].split(separator: " ")
    guard statusFields.count >= 2, let status = Int(statusFields[1]) else {
      throw Failure(description: "bad status line '\(lines[0])'")
    }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPReply(status: status, headers: headers, body: Data(raw[end.upperBound...]))
  }
}

/// `curl` against 127.0.0.1 only, its status and output.
func curl(_ arguments: [String]) async throws -> Subprocess.Result {
  try await onThread { try Subprocess(["curl", "--silent", "--show-error"] + arguments, timeout: 120).run() }
}
