internal import CCurl
import Foundation
import Spec
import Support

/// One HTTP request through libcurl with any method, headers and body (bytes or a
/// file streamed from disk), for a registry's API: the status, the headers and the
/// body (collected, or handed to a sink for large ones) come back; no status is an
/// error here, the caller decides.
public final class HTTPRequest {
  public enum Body: Sendable {
    case none
    case data(Data)
    /// A file sent as it is read (blob uploads), never whole in memory.
    case file(String)
  }

  public struct Response: Sendable {
    public var status: Int
    /// Header names in lowercase; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: Data
  }

  public let method: String
  public let url: String
  public var headers: [String: String]
  public var body: Body
  /// A PEM file of CAs to trust instead of the system's (`CARAVAN_CA_FILE`).
  public var caFile: String?
  /// Larger collected bodies are refused (manifests, tokens); a sink has no limit.
  public var maximumBody = 16 << 20

  public init(method: String, url: String, headers: [String: String] = [:], body: Body = .none) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
  }

  final class Context {
    var sink: ((UnsafeRawBufferPointer) throws -> Void)?
    var collected = Data()
    var maximumBody = 0
    var status = 0
    var headers: [String: String] = [:]
    var failure: Error?
    var upload: FileHandle?
    init() {}
  }

  /// Sends the request; with `sink`, a 2xx body goes there (other bodies are collected,
  /// to name the server's error).
  public func perform(sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> Response {
    guard Download.initialised, let curl = curl_easy_init() else {
      throw CaravanError(.io, "cannot send a request: libcurl failed to initialise")
    }
    defer { curl_easy_cleanup(curl) }
    let context = Context()
    context.sink = sink
    context.maximumBody = maximumBody
    let unmanaged = Unmanaged.passUnretained(context).toOpaque()
    var list: UnsafeMutablePointer<curl_slist>?
    defer { curl_slist_free_all(list) }
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
      list = curl_slist_append(list, "\(name): \(value)")
    }
    // libcurl adds `Expect: 100-continue` to large uploads; registries answer at once.
    list = curl_slist_append(list, "Expect:")
    func check(_ code: CURLcode, _ what: String) throws {
      guard code == CURLE_OK else {
        throw CaravanError(
          .io, "cannot set up the request \(method) \(url) (\(what)): \(String(cString: curl_easy_strerror(code)))")
      }
    }
    try Download.setCommonOptions(curl, url: url, check: check)
    try check(caravan_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, list), "headers")
    if let caFile { try check(caravan_curl_setopt_string(curl, CURLOPT_CAINFO, caFile), "CA file") }
    // Redirects only for reads: a blob may live behind one (object storage).
    if method == "GET" || method == "HEAD" {
      try check(caravan_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1), "redirects")
      try check(caravan_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 10), "redirects")
    }
    if method == "HEAD" { try check(caravan_curl_setopt_long(curl, CURLOPT_NOBODY, 1), "HEAD") }
    try setBody(curl, context: context, unmanaged: unmanaged, check: check)
    defer { try? context.upload?.close() }
    try check(caravan_curl_setopt_write(curl, HTTPRequest.write), "writer")
    try check(caravan_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, unmanaged), "writer")
    try check(caravan_curl_setopt_header(curl, HTTPRequest.header), "headers")
    try check(caravan_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, unmanaged), "headers")
    try check(caravan_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0), "interrupt check")
    try check(caravan_curl_setopt_progress(curl, HTTPRequest.interruptCheck), "interrupt check")
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
      _ = caravan_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, buffer.baseAddress)
      return curl_easy_perform(curl)
    }
    if let failure = context.failure { throw failure }
    if Interrupt.process.requested { throw Interrupt.stopped("interrupted: the request to \(url) was stopped") }
    guard code == CURLE_OK else {
      let written = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw HTTPRequest.TransportError(
        url: url, code: Int(code.rawValue),
        detail: written.isEmpty ? String(cString: curl_easy_strerror(code)) : written)
    }
    var status = 0
    _ = caravan_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
    return Response(status: status, headers: context.headers, body: context.collected)
  }

  /// The request's body: none (an empty one for POST, PUT and PATCH), bytes, or a file read as it is sent.
  private func setBody(
    _ curl: UnsafeMutableRawPointer, context: Context, unmanaged: UnsafeMutableRawPointer,
    check: (CURLcode, String) throws -> Void
  ) throws {
    switch body {
    case .none:
      if method != "GET" && method != "HEAD" {
        try check(caravan_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method), "method")
        if method == "POST" || method == "PUT" || method == "PATCH" {
          try check(caravan_curl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, 0), "empty body")
          try check(caravan_curl_setopt_string(curl, CURLOPT_POSTFIELDS, ""), "empty body")
        }
      }
    case .data(let data):
      try check(caravan_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method), "method")
      try check(caravan_curl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, data.count), "body size")
      let code = data.withUnsafeBytes { bytes -> CURLcode in
        caravan_curl_setopt_pointer(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
      }
      try check(code, "body")
    case .file(let path):
      guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CaravanError(.notFound, "cannot open '\(path)' to send it", hint: "Check the file and its permissions.")
      }
      context.upload = handle
      let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.int64Value ?? 0
      try check(caravan_curl_setopt_long(curl, CURLOPT_UPLOAD, 1), "upload")
      try check(caravan_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method), "method")
      try check(caravan_curl_setopt_offset(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(size)), "upload size")
      try check(caravan_curl_setopt_read(curl, HTTPRequest.read), "upload")
      try check(caravan_curl_setopt_pointer(curl, CURLOPT_READDATA, unmanaged), "upload")
    }
  }

  /// The connection itself failed (refused, TLS, cut): no HTTP status.
  public struct TransportError: Error, CustomStringConvertible {
    public var url: String
    public var code: Int
    public var detail: String
    public var description: String { "\(url): \(detail)" }
    /// TLS could not be set up (a plain HTTP server, an unknown CA).
    public var isTLS: Bool { [35, 51, 58, 59, 60, 77, 83, 90, 91].contains(code) }
    /// The TLS handshake itself failed (CURLE_SSL_CONNECT_ERROR): the server speaks no
    /// TLS, as opposed to a certificate that is not trusted.
    public var isHandshake: Bool { code == 35 }
  }

  /// Stops the transfer when an interrupt came (checked about once a second).
  static let interruptCheck: caravan_curl_progress_fn = { _, _, _, _, _ in Interrupt.process.requested ? 1 : 0 }

  static let read: caravan_curl_read_fn = { buffer, size, count, pointer in
    guard let buffer, let pointer else { return 0 }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    guard let handle = context.upload else { return 0 }
    do {
      guard let chunk = try handle.read(upToCount: size * count), !chunk.isEmpty else { return 0 }
      chunk.copyBytes(to: UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: chunk.count)
      return chunk.count
    } catch {
      context.failure = error
      return Int(CURL_READFUNC_ABORT)
    }
  }

  static let header: caravan_curl_write_fn = { data, size, count, pointer in
    let length = size * count
    guard let data, let pointer else { return length }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if let status = Download.status(ofStatusLine: line) {
      // A new response (after a redirect or a 100): its own status and headers.
      context.status = status
      context.headers = [:]
      context.collected = Data()
    } else if let colon = line.firstIndex(of: ":") {
      let name = line[..<colon].lowercased()
      context.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return length
  }

  static let write: caravan_curl_write_fn = { data, size, count, pointer in
    let length = size * count
    guard let data, let pointer else { return length }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    if let sink = context.sink, (200..<300).contains(context.status) {
      do {
        try sink(bytes)
      } catch {
        context.failure = error
        return 0
      }
      return length
    }
    guard context.collected.count + length <= context.maximumBody else {
      context.failure = CaravanError(.io, "the server's answer is larger than \(context.maximumBody) bytes")
      return 0
    }
    context.collected.append(contentsOf: bytes)
    return length
  }
}
