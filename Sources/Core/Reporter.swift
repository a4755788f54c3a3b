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
  private let descriptor: Int32
  private let isTerminal: Bool
  private let colour: Bool
  private var progressShown = false
  private var lastPlainProgress = Date.distantPast

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

  private func endProgress() {
    if progressShown {
      print("")
      progressShown = false
    }
  }

  public func step(_ machine: String, _ message: String) {
    endProgress()
    print("==> \(label(machine)): \(message)")
    fflush(nil)
  }

  public func detail(_ machine: String, _ line: String) {
    endProgress()
    print("    \(label(machine)): \(line)")
    fflush(nil)
  }

  public func progress(_ machine: String, _ message: String) {
    if isTerminal {
      print("\r\u{1B}[2K==> \(label(machine)): \(message)", terminator: "")
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
