import Foundation

/// scripts/box-server.py on 127.0.0.1, started for a test and stopped after it.
public final class BoxServer {
  let process = Process()
  public let root: String
  public let log: String
  public private(set) var port = 0
  public var base: String { "http://127.0.0.1:\(port)" }

  public static var repository: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .path
  }

  public init(root: String, token: String? = nil) throws {
    self.root = root
    log = root + "/requests.log"
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
      ["python3", BoxServer.repository + "/scripts/box-server.py", root, "--log", log]
      + (token.map { ["--token", $0] } ?? [])
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
    guard line.hasPrefix("READY "), let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines))
    else {
      process.terminate()
      throw POSIXError(.ECONNREFUSED)
    }
    self.port = port
  }

  /// The logged requests for paths containing `fragment`.
  public func requests(containing fragment: String) -> [[String: Any]] {
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.filter { ($0["path"] as? String)?.contains(fragment) == true }
  }

  public func stop() {
    // SIGKILL: a test runner's threads may block SIGTERM, and children inherit that mask.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
