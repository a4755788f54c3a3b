import Foundation
import Support
import Synchronization

/// Where the engine says what it does: `==> web: Booting…` lines and indented guest output.
public protocol Reporter: AnyObject, Sendable {
  func step(_ machine: String, _ message: String)
  func detail(_ machine: String, _ line: String)
  /// A line that replaces itself on a terminal (progress), a plain line otherwise.
  func progress(_ machine: String, _ message: String)
  func warning(_ message: String)
  /// A line about the whole command rather than one machine (a multi-machine `up`'s plan and summary).
  func note(_ message: String)
}

extension Reporter {
  public func note(_ message: String) { step("caravan", message) }
}

/// Safe to use from several threads (a parallel `up`): each line is written whole, under a lock.
public final class ConsoleReporter: Reporter {
  private let descriptor: Int32
  private let isTerminal: Bool
  private let colour: Bool
  private struct State {
    var progressShown = false
    /// When each machine's last plain progress line was printed.
    var lastPlainProgress: [String: Date] = [:]
  }
  /// Held while a line is written, so that lines of several threads never mix.
  private let state = Mutex(State())

  /// `toStandardError`: for a command whose standard output is the guest's (`ssh -c`).
  public init(toStandardError: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment) {
    descriptor = toStandardError ? STDERR_FILENO : STDOUT_FILENO
    isTerminal = isatty(descriptor) == 1
    colour = ConsoleReporter.usesColour(isTerminal: isTerminal, environment: environment)
  }

  private func print(_ text: String, terminator: String = "\n") {
    if descriptor == STDOUT_FILENO {
      Swift.print(text, terminator: terminator)
    } else {
      FileHandle.standardError.write(Data((text + terminator).utf8))
    }
  }

  /// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb.
  static func usesColour(isTerminal: Bool, environment: [String: String]) -> Bool {
    isTerminal && environment["NO_COLOR"].map(\.isEmpty) != false && environment["TERM"] != "dumb"
  }

  /// The machine's name, in its own colour on a terminal: one of six, the same for a
  /// name in every run, so each machine's lines stand out in a multi-machine `up`.
  func label(_ machine: String) -> String {
    guard colour else { return machine }
    let palette = [36, 35, 33, 32, 34, 31]
    let index = machine.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % palette.count
    return "\u{1B}[\(palette[index])m\(machine)\u{1B}[0m"
  }

  private func endProgress(_ state: inout State) {
    if state.progressShown {
      print("")
      state.progressShown = false
    }
  }

  public func step(_ machine: String, _ message: String) {
    locked { state in
      endProgress(&state)
      print("==> \(label(machine)): \(message)")
    }
  }

  public func detail(_ machine: String, _ line: String) {
    locked { state in
      endProgress(&state)
      print("    \(label(machine)): \(line)")
    }
  }

  public func note(_ message: String) {
    locked { state in
      endProgress(&state)
      print("==> \(message)")
    }
  }

  public func progress(_ machine: String, _ message: String) {
    locked { state in
      if isTerminal {
        print("\r\u{1B}[2K==> \(label(machine)): \(message)", terminator: "")
        state.progressShown = true
      } else {
        // Plain lines for logs: one every 5 seconds at most, per machine.
        guard Date().timeIntervalSince(state.lastPlainProgress[machine] ?? .distantPast) >= 5 else { return }
        state.lastPlainProgress[machine] = Date()
        print("==> \(machine): \(message)")
      }
    }
  }

  public func warning(_ message: String) {
    locked { state in
      endProgress(&state)
      FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }
  }

  private func locked(_ body: (inout State) -> Void) {
    state.withLock { state in
      body(&state)
      fflush(nil)
    }
  }
}
