import Foundation
import Support

/// Lifecycle steps as JSON lines, for CI logs and monitoring (`--events FILE`
/// or `CARAVAN_EVENTS`): `{time, project, machine, step, phase, duration_s,
/// outcome, detail}`, one object a line, appended with `O_APPEND` so lines of
/// several caravan processes never interleave. The human output is unchanged.
public final class EventLog: Sendable {
  /// Written once in init; write(2) with O_APPEND writes each line whole.
  private let fd: Int32
  public let path: String
  let project: String

  /// Opens (creating) `path` for appending.
  public init(path: String, project: String) throws {
    self.path = path
    self.project = project
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw CaravanError(
        .io, "cannot open the events file '\(path)': \(String(cString: strerror(errno)))",
        hint: "Give --events (or CARAVAN_EVENTS) a path you may write.")
    }
  }

  deinit { close(fd) }

  public enum Phase: String, Sendable { case start, end }

  /// Appends one event; a failed write is not worth failing a command for.
  public func record(
    machine: String, step: Step, phase: Phase, duration: Double? = nil, outcome: String? = nil,
    detail: String? = nil
  ) {
    var event: [String: Any] = [
      "time": ISO8601DateFormatter.withFractions.string(from: Date()), "project": project, "machine": machine,
      "step": step.rawValue, "phase": phase.rawValue,
    ]
    if let duration { event["duration_s"] = (duration * 1000).rounded() / 1000 }
    if let outcome { event["outcome"] = outcome }
    if let detail { event["detail"] = detail }
    guard var line = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]) else { return }
    line.append(UInt8(ascii: "\n"))
    _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }
}

extension ISO8601DateFormatter {
  /// `2026-11-24T12:00:00.123Z`.
  static var withFractions: ISO8601DateFormatter {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
  }
}
