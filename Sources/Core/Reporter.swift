import Foundation
import Support

/// Where the engine says what it does: `==> web: Booting…` lines and indented guest output.
public protocol Reporter: AnyObject {
  func step(_ machine: String, _ message: String)
  func detail(_ machine: String, _ line: String)
  /// A line that replaces itself on a terminal (progress), a plain line otherwise.
  func progress(_ machine: String, _ message: String)
  func warning(_ message: String)
}

public final class ConsoleReporter: Reporter {
  private let isTerminal = isatty(STDOUT_FILENO) == 1
  private var progressShown = false
  private var lastPlainProgress = Date.distantPast

  public init() {}

  private func endProgress() {
    if progressShown {
      print("")
      progressShown = false
    }
  }

  public func step(_ machine: String, _ message: String) {
    endProgress()
    print("==> \(machine): \(message)")
    fflush(nil)
  }

  public func detail(_ machine: String, _ line: String) {
    endProgress()
    print("    \(machine): \(line)")
    fflush(nil)
  }

  public func progress(_ machine: String, _ message: String) {
    if isTerminal {
      print("\r\u{1B}[2K==> \(machine): \(message)", terminator: "")
      progressShown = true
    } else {
      // Plain lines for logs: one every 5 seconds at most.
      guard Date().timeIntervalSince(lastPlainProgress) >= 5 else { return }
      lastPlainProgress = Date()
      print("==> \(machine): \(message)")
    }
    fflush(nil)
  }

  public func warning(_ message: String) {
    endProgress()
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
  }
}
