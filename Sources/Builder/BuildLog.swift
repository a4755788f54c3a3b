// What a build says while it runs: each step with the time since the build began, tool
// output indented under it, and (on a terminal) a status line with the guest console's
// last line, so a build never hangs silently.

import Foundation
import Support
import Synchronization

public final class BuildLog: Sendable {
  private let started = Date()
  private let terminal: Bool
  private struct State {
    var statusShown = false
    var lastPlainStatus = Date.distantPast
  }
  /// Held while a line is written, so that lines of several threads never mix.
  private let state = Mutex(State())
  private let write: @Sendable (String) -> Void

  public init(
    terminal: Bool = isatty(STDOUT_FILENO) == 1,
    write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
  ) {
    self.terminal = terminal
    self.write = write
  }

  public var elapsed: String {
    let seconds = Int(Date().timeIntervalSince(started))
    return String(format: "%02d:%02d", seconds / 60, seconds % 60)
  }

  public var elapsedSeconds: Double { Date().timeIntervalSince(started) }

  /// `==> [01:12] step: message`.
  public func step(_ name: String, _ message: String) {
    emit("==> [\(elapsed)] \(name): \(message)")
  }

  /// A line of a tool's or the guest's output, under the current step.
  public func detail(_ line: String) {
    emit("    " + line)
  }

  /// A line that replaces itself on a terminal (waiting, console tail); elsewhere printed
  /// at most every 10 s.
  public func status(_ line: String) {
    state.withLock { state in
      if terminal {
        let width = 160
        let shown = line.count > width ? String(line.prefix(width - 1)) + "…" : line
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K    [\(elapsed)] " + shown).utf8))
        state.statusShown = true
      } else if Date().timeIntervalSince(state.lastPlainStatus) >= 10 {
        // Not a terminal (a CI log): one line every 10 s is enough to show life.
        state.lastPlainStatus = Date()
        write("    [\(elapsed)] " + line)
      }
    }
  }

  private func emit(_ line: String) {
    state.withLock { state in
      if state.statusShown {
        FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        state.statusShown = false
      }
      write(line)
    }
  }
}

/// Host programs the build runs: each failure names the step, the command, its exit
/// status and its last lines of output.
struct HostTools {
  let log: BuildLog

  /// Runs a tool, streaming its output under the current step when `show` is set.
  @discardableResult
  func run(
    _ arguments: [String], step: String, environment: [String: String]? = nil, show: Bool = false,
    hint: String? = nil
  ) throws -> String {
    // A build step is never started after Ctrl-C.
    try Interrupt.process.check()
    var tail: [String] = []
    var output = ""
    let status = try Subprocess(arguments, environment: environment).runStreamingLines { _, line in
      tail.append(line)
      if tail.count > 15 { tail.removeFirst() }
      if output.utf8.count < 1 << 20 { output += line + "\n" }
      if show { log.detail(line) }
    }
    guard status == 0 else {
      throw CaravanError(
        .io, "\(step) failed: `\(arguments.map(shellQuote).joined(separator: " "))` exited \(status)",
        hint: ([hint].compactMap { $0 } + (tail.isEmpty ? [] : ["Its last lines:"] + tail.map { "  " + $0 }))
          .joined(separator: "\n"))
    }
    return output
  }

  /// Refuses to start when a program is missing, naming the Debian package that has it.
  static func require(_ tools: [(program: String, package: String)], for what: String) throws {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    let missing = tools.filter { tool in
      !path.split(separator: ":").contains { FileSystem.exists("\($0)/\(tool.program)") }
    }
    guard missing.isEmpty else {
      let packages = Array(Set(missing.map(\.package))).sorted().joined(separator: " ")
      throw CaravanError(
        .notFound, "\(what) needs \(missing.map(\.program).joined(separator: ", ")), which is not installed",
        hint: "Install it: apt-get install \(packages)")
    }
  }
}
