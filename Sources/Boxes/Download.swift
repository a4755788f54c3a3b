internal import CCurl
import Foundation
import Spec
import Support

/// One HTTP(S)/file download through libcurl, streamed to a sink: redirects
/// followed, `http_proxy`/`https_proxy`/`no_proxy` honoured (libcurl reads
/// them), a bearer token sent when given, and a cut connection resumed from
/// the byte where it stopped (a server that ignores the range is read past
/// what was already received).
public final class Download {
  public struct Progress: Sendable {
    public var received: UInt64
    /// nil when the server does not say.
    public var total: UInt64?
    public var bytesPerSecond: Double
  }

  public let url: String
  public var bearerToken: String?
  /// Why a token the user set is not sent to this URL, said when the server refuses.
  public var withheldToken: String?
  /// Called at most a few times a second.
  public var onProgress: ((Progress) -> Void)?
  /// Attempts after a cut connection before giving up.
  public var retries = 5
  /// Larger bodies are refused (for catalogs); nil for no limit.
  public var maximumSize: UInt64?

  public init(url: String, bearerToken: String? = nil) {
    self.url = url
    self.bearerToken = bearerToken
  }

  static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

  /// Context shared with libcurl's C callbacks.
  final class Context {
    var sink: (UnsafeRawBufferPointer) throws -> Void
    var delivered: UInt64 = 0
    var skip: UInt64 = 0
    var failure: Error?
    var total: UInt64?
    var attemptOffset: UInt64 = 0
    var status = 0
    var maximumSize: UInt64?
    var started = Date()
    var lastReport = Date.distantPast
    var onProgress: ((Progress) -> Void)?
    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.sink = sink }

    var progress: Progress {
      let seconds = Date().timeIntervalSince(started)
      return Progress(received: delivered, total: total, bytesPerSecond: seconds > 0 ? Double(delivered) / seconds : 0)
    }
  }

  /// Downloads, handing every byte to `sink` exactly once and in order.
  /// Returns the number of bytes delivered.
  @discardableResult
  public func run(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> UInt64 {
    guard Download.initialised, let curl = curl_easy_init() else {
      throw CaravanError(.io, "cannot start a download: libcurl failed to initialise")
    }
    defer { curl_easy_cleanup(curl) }
    let context = Context(sink: sink)
    context.maximumSize = maximumSize
    context.onProgress = onProgress
    let unmanaged = Unmanaged.passUnretained(context).toOpaque()
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    var attempt = 0
    while true {
      attempt += 1
      curl_easy_reset(curl)
      context.attemptOffset = context.delivered
      context.skip = 0
      context.status = 0
      try configure(curl, context: unmanaged, resumeFrom: context.delivered)
      let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
        _ = caravan_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, buffer.baseAddress)
        buffer[0] = 0
        return curl_easy_perform(curl)
      }
      var status = 0
      _ = caravan_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
      if let failure = context.failure { throw failure }
      if code == CURLE_OK {
        onProgress?(context.progress)
        return context.delivered
      }
      let written = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let detail = written.isEmpty ? String(cString: curl_easy_strerror(code)) : written
      if code == CURLE_HTTP_RETURNED_ERROR || status >= 400 {
        throw httpError(status: status)
      }
      let resumable = [
        CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
      ]
      .contains(code)
      if resumable && attempt <= retries {
        if context.delivered > context.attemptOffset || attempt < 3 {
          try Interrupt.process.sleep(Double(min(attempt, 3)) * 0.5)
          continue
        }
      }
      throw CaravanError(
        .io, "download of \(url) failed after \(context.delivered) bytes: \(detail)",
        hint: resumable
          ? "The connection kept breaking; try again later (nothing was installed)."
          : "Check the URL, your network and proxy settings (http_proxy, https_proxy, no_proxy).")
    }
  }

  /// Downloads into memory (for catalogs).
  public func data() throws -> Data {
    var data = Data()
    try run { data.append(contentsOf: $0) }
    return data
  }

  func httpError(status: Int) -> CaravanError {
    switch status {
    case 401, 403:
      return CaravanError(
        .io, "download of \(url) was refused: HTTP \(status)",
        hint: bearerToken != nil
          ? "Check that CARAVAN_CLOUD_TOKEN is valid for this server."
          : withheldToken.map { "\($0); set CARAVAN_SERVER_URL to this server if it is yours." }
            ?? "The server wants a token: set CARAVAN_CLOUD_TOKEN.")
    case 404:
      return CaravanError(
        .io, "download of \(url) failed: HTTP 404, not found", hint: "Check the box name, version and URL.")
    default:
      return CaravanError(
        .io, "download of \(url) failed: HTTP \(status)", hint: "The server had a problem; try again later.")
    }
  }

  private func configure(_ curl: UnsafeMutableRawPointer, context: UnsafeMutableRawPointer, resumeFrom offset: UInt64)
    throws
  {
    func check(_ code: CURLcode, _ what: String) throws {
      guard code == CURLE_OK else {
        throw CaravanError(
          .io, "cannot set up the download of \(url) (\(what)): \(String(cString: curl_easy_strerror(code)))")
      }
    }
    try Download.setCommonOptions(curl, url: url, check: check)
    try check(caravan_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1), "redirects")
    try check(caravan_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 10), "redirects")
    try check(caravan_curl_setopt_long(curl, CURLOPT_FAILONERROR, 1), "errors")
    try check(caravan_curl_setopt_long(curl, CURLOPT_BUFFERSIZE, 512 * 1024), "buffer")
    if let token = bearerToken, !token.isEmpty {
      // libcurl sends a bearer token only to the host and port it was given for, never across a
      // redirect to another (CURLOPT_UNRESTRICTED_AUTH stays off); BoxInstaller chooses that host.
      try check(caravan_curl_setopt_long(curl, CURLOPT_HTTPAUTH, Int(caravan_curlauth_bearer)), "token")
      try check(caravan_curl_setopt_string(curl, CURLOPT_XOAUTH2_BEARER, token), "token")
    }
    // CURLOPT_RANGE, not RESUME_FROM: a server that ignores ranges answers 200 and we skip what we have.
    if offset > 0 { try check(caravan_curl_setopt_string(curl, CURLOPT_RANGE, "\(offset)-"), "resume") }
    try check(caravan_curl_setopt_write(curl, Download.write), "writer")
    try check(caravan_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, context), "writer")
    try check(caravan_curl_setopt_header(curl, Download.header), "headers")
    try check(caravan_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, context), "headers")
    // Called about once a second even when no byte comes: an interrupt stops a stalled download too.
    try check(caravan_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0), "interrupt check")
    try check(caravan_curl_setopt_progress(curl, Download.interruptCheck), "interrupt check")
    try check(caravan_curl_setopt_pointer(curl, CURLOPT_XFERINFODATA, context), "interrupt check")
  }

  /// What every transfer of Caravan's sets: the URL, no signals, a 30 s connect
  /// timeout, a stall (under 1 KiB/s for 60 s) counted as a cut, the user agent.
  static func setCommonOptions(
    _ curl: UnsafeMutableRawPointer, url: String, check: (CURLcode, String) throws -> Void
  ) throws {
    try check(caravan_curl_setopt_string(curl, CURLOPT_URL, url), "URL")
    try check(caravan_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1), "signals")
    try check(caravan_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 30), "timeout")
    try check(caravan_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1024), "stall detection")
    try check(caravan_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 60), "stall detection")
    try check(caravan_curl_setopt_string(curl, CURLOPT_USERAGENT, "caravan/0.1"), "user agent")
  }

  /// Stops the transfer (libcurl then ends with "aborted by callback") when an interrupt came.
  static let interruptCheck: caravan_curl_progress_fn = { pointer, _, _, _, _ in
    guard let pointer, Interrupt.process.requested else { return 0 }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    if context.failure == nil { context.failure = Interrupt.stopped("interrupted: the download of a box was stopped") }
    return 1
  }

  /// The status of a response's status line (`HTTP/1.1 206 Partial Content`: 206; 0
  /// when it has none); nil for any other header line.
  static func status(ofStatusLine line: String) -> Int? {
    guard line.hasPrefix("HTTP/") else { return nil }
    let parts = line.split(separator: " ")
    return parts.count > 1 ? Int(parts[1]) ?? 0 : 0
  }

  /// Reads the status line of each response: a 200 to a ranged request means
  /// the server sends everything again, so what we already have is skipped.
  static let header: caravan_curl_write_fn = { data, size, count, pointer in
    let length = size * count
    guard let data, let pointer else { return length }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if let status = Download.status(ofStatusLine: line) {
      context.status = status
      if context.status == 200 { context.skip = context.attemptOffset }
    } else if line.lowercased().hasPrefix("content-length:") {
      let value = UInt64(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
      if context.status == 206 {
        context.total = context.attemptOffset + value
      } else if context.status == 200 {
        context.total = value
      }
    }
    return length
  }

  static let write: caravan_curl_write_fn = { data, size, count, pointer in
    let length = size * count
    guard let data, let pointer else { return length }
    let context = Unmanaged<Context>.fromOpaque(pointer).takeUnretainedValue()
    var bytes = UnsafeRawBufferPointer(start: data, count: length)
    if context.skip > 0 {
      let drop = Int(min(UInt64(length), context.skip))
      context.skip -= UInt64(drop)
      bytes = UnsafeRawBufferPointer(rebasing: bytes[drop...])
      if bytes.isEmpty { return length }
    }
    if let limit = context.maximumSize, context.delivered + UInt64(bytes.count) > limit {
      context.failure = CaravanError(
        .invalidInput, "the response is larger than \(limit) bytes; this is not a box catalog")
      return 0
    }
    do {
      try context.sink(bytes)
    } catch {
      context.failure = error
      return 0  // makes libcurl stop with a write error
    }
    context.delivered += UInt64(bytes.count)
    if let report = context.onProgress, Date().timeIntervalSince(context.lastReport) >= 0.25 {
      context.lastReport = Date()
      report(context.progress)
    }
    return length
  }
}
