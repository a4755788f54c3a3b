internal import FlyingFox
internal import FlyingSocks
import Foundation
import Support

/// Answers every request of the build's HTTP server: finds the file under the roots, answers
/// GET (whole or one byte range) and HEAD, refuses the rest, and logs one line.
struct FileRequestHandler: HTTPHandler {
  /// Real paths of the roots, searched in order.
  let roots: [String]
  /// The peers it answers; any other gets 403 and nothing of the files.
  var allowedPeers: [PeerRange] = [.loopback]
  let log: @Sendable (String) -> Void

  /// Bytes read from the file and written to the socket at a time.
  static let chunkSize = 256 * 1024

  func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
    let path = request.target.path()
    guard let peer = request.remoteAddress.flatMap(Self.ip4), allowedPeers.contains(where: { $0.contains(peer) })
    else {
      log(
        "\(request.method.rawValue) \(path) 403 0 bytes: refused \(Self.describe(request.remoteAddress)), not the build guest's"
      )
      return HTTPResponse(statusCode: .forbidden)
    }
    let (response, bytes) = respond(to: request, path: path)
    log("\(request.method.rawValue) \(path) \(response.statusCode.code) \(bytes) bytes")
    return response
  }

  private func respond(to request: HTTPRequest, path: String) -> (HTTPResponse, Int) {
    guard request.method == .GET || request.method == .HEAD else {
      return (HTTPResponse(statusCode: .methodNotAllowed, headers: HTTPHeaders([HTTPHeader("Allow"): "GET, HEAD"])), 0)
    }
    let file: OpenFile
    switch Self.resolve(path, in: roots) {
    case .file(let found): file = found
    case .badRequest: return (HTTPResponse(statusCode: .badRequest), 0)
    case .forbidden: return (HTTPResponse(statusCode: .forbidden), 0)
    case .notFound: return (HTTPResponse(statusCode: .notFound), 0)
    }
    var headers: HTTPHeaders = [.contentType: Self.contentType(of: path), .acceptRanges: "bytes"]
    if request.method == .HEAD {
      headers[.contentLength] = String(file.size)
      return (HTTPResponse(statusCode: .ok, headers: headers), 0)
    }
    switch Self.byteRange(request.headers[.range], size: file.size) {
    case .whole:
      return (HTTPResponse(statusCode: .ok, headers: headers, body: Self.body(file, 0..<file.size)), file.size)
    case .part(let range):
      headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(file.size)"
      return (HTTPResponse(statusCode: .partialContent, headers: headers, body: Self.body(file, range)), range.count)
    case .unsatisfiable:
      headers[.contentRange] = "bytes */\(file.size)"
      return (HTTPResponse(statusCode: .rangeNotSatisfiable, headers: headers), 0)
    }
  }

  private static func body(_ file: OpenFile, _ range: Range<Int>) -> HTTPBodySequence {
    HTTPBodySequence(
      from: FileRangeSequence(file: file, range: range), count: range.count, suggestedBufferSize: chunkSize)
  }

  private static func contentType(of path: String) -> String {
    let textExtensions: Set = ["cfg", "conf", "json", "ks", "preseed", "seed", "sh", "txt", "xml", "yaml", "yml"]
    let name = path.split(separator: "/").last ?? ""
    let pathExtension = name.contains(".") ? name.split(separator: ".").last.map { $0.lowercased() } : nil
    return textExtensions.contains(pathExtension ?? "") ? "text/plain; charset=utf-8" : "application/octet-stream"
  }

  // MARK: - Finding the file

  enum Resolution {
    case file(OpenFile)
    /// Not an origin-form path (`/…`), or not valid percent-encoding, or holding NUL.
    case badRequest
    /// A `.` or `..` segment, or a path that resolves outside its root.
    case forbidden
    case notFound
  }

  /// The regular file `path` (the request target's path, percent-encoded) names under the first
  /// root that holds one, opened.
  static func resolve(_ path: String, in roots: [String]) -> Resolution {
    guard path.hasPrefix("/"), let decoded = path.removingPercentEncoding, !decoded.contains("\0") else {
      return .badRequest
    }
    let segments = decoded.split(separator: "/")
    guard !segments.contains(where: { $0 == "." || $0 == ".." }) else { return .forbidden }
    guard !segments.isEmpty else { return .notFound }
    var escaped = false
    for root in roots {
      guard let real = realPath(root + "/" + segments.joined(separator: "/")) else { continue }
      guard root == "/" || real.hasPrefix(root + "/") else {
        escaped = true
        continue
      }
      // O_NOFOLLOW: the path has just been resolved, so a link now is a swap since; O_NONBLOCK: a
      // FIFO must not hang the open (it is refused below as not a regular file).
      let descriptor = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
      guard descriptor >= 0 else { continue }
      var info = stat()
      guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
        close(descriptor)
        continue
      }
      return .file(OpenFile(descriptor: descriptor, size: Int(info.st_size), path: real))
    }
    return escaped ? .forbidden : .notFound
  }

  // MARK: - Byte ranges

  enum ByteRange: Equatable {
    case whole
    case part(Range<Int>)
    case unsatisfiable
  }

  /// A `Range` header (RFC 9110 §14.2) for a file of `size` bytes: one range `bytes=a-b`,
  /// `bytes=a-` or `bytes=-n`. A header this server does not take (another unit, several ranges,
  /// a malformed one) is ignored, as the RFC allows: the whole file is sent.
  static func byteRange(_ header: String?, size: Int) -> ByteRange {
    guard let header else { return .whole }
    let value = header.trimmingCharacters(in: .whitespaces)
    guard value.lowercased().hasPrefix("bytes="), !value.contains(",") else { return .whole }
    let bounds = value.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
      .map { $0.trimmingCharacters(in: .whitespaces) }
    guard bounds.count == 2 else { return .whole }
    if bounds[0].isEmpty {
      guard let suffix = number(bounds[1]) else { return .whole }
      guard suffix > 0, size > 0 else { return .unsatisfiable }
      return .part(max(0, size - suffix)..<size)
    }
    guard let first = number(bounds[0]) else { return .whole }
    var last = Int.max
    if !bounds[1].isEmpty {
      guard let given = number(bounds[1]), given >= first else { return .whole }
      last = given
    }
    guard first < size else { return .unsatisfiable }
    return .part(first..<min(last, size - 1) + 1)
  }

  /// Decimal digits; a number too large for an Int is as good as Int.max here.
  private static func number(_ text: String) -> Int? {
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(text) ?? Int.max
  }
}

/// A file opened for one response, closed when the response's body is done with it.
final class OpenFile: Sendable {
  let descriptor: Int32
  let size: Int
  let path: String

  init(descriptor: Int32, size: Int, path: String) {
    self.descriptor = descriptor
    self.size = size
    self.path = path
  }

  deinit { close(descriptor) }
}

/// Part of an open file as a response body: read with pread(2) a chunk at a time, as the socket
/// takes it, so no more than a chunk is in memory per response whatever the file's size.
struct FileRangeSequence: AsyncBufferedSequence {
  typealias Element = UInt8

  let file: OpenFile
  let range: Range<Int>

  func makeAsyncIterator() -> Iterator {
    Iterator(file: file, offset: range.lowerBound, end: range.upperBound)
  }

  struct Iterator: AsyncBufferedIteratorProtocol {
    let file: OpenFile
    var offset: Int
    let end: Int

    mutating func next() async throws -> UInt8? {
      try await nextBuffer(suggested: 1)?.first
    }

    mutating func nextBuffer(suggested count: Int) async throws -> Data? {
      guard offset < end else { return nil }
      let wanted = Swift.min(Swift.max(count, 1), end - offset)
      var chunk = Data(count: wanted)
      let descriptor = file.descriptor
      let start = off_t(offset)
      var read: Int
      repeat {
        read = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, start) }
      } while read < 0 && errno == EINTR
      guard read > 0 else {
        let cause = read < 0 ? String(cString: strerror(errno)) : "the file ended early (was it changed?)"
        throw CaravanError(.io, "the build's HTTP server cannot read '\(file.path)' at byte \(offset): \(cause)")
      }
      offset += read
      chunk.count = read
      return chunk
    }
  }
}

extension FileRequestHandler {
  /// The peer's IPv4 address (an IPv4-mapped IPv6 one too); nil for anything else.
  static func ip4(_ address: HTTPRequest.Address) -> String? {
    switch address {
    case .ip4(let ip, _): return ip
    case .ip6(let ip, _):
      return ip.lowercased().hasPrefix("::ffff:") && ip.contains(".") ? String(ip.dropFirst(7)) : nil
    case .unix: return nil
    }
  }

  static func describe(_ address: HTTPRequest.Address?) -> String {
    switch address {
    case .ip4(let ip, let port)?: return "\(ip):\(port)"
    case .ip6(let ip, let port)?: return "[\(ip)]:\(port)"
    case .unix(let path)?: return "unix socket \(path)"
    case nil: return "a peer of unknown address"
    }
  }
}
