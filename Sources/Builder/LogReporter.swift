import Core

/// Lifecycle lines under the build's log.
final class LogReporter: Reporter {
  let log: BuildLog
  init(log: BuildLog) { self.log = log }
  func step(_ machine: String, _ message: String) { log.step(machine, message) }
  func detail(_ machine: String, _ line: String) { log.detail(line) }
  func progress(_ machine: String, _ message: String) { log.status(message) }
  func warning(_ message: String) { log.step("warning", message) }
}
