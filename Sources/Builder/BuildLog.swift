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
