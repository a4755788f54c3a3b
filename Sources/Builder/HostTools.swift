import Foundation
import Support

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
    var tail = OutputTail(15)
    var output = ""
    let status = try Subprocess(arguments, environment: environment).runStreamingLines { _, line in
      tail.append(line)
      if output.utf8.count < 1 << 20 { output += line + "\n" }
      if show { log.detail(line) }
    }
    guard status == 0 else {
      throw CaravanError(
        .io, "\(step) failed: `\(arguments.map(shellQuote).joined(separator: " "))` exited \(status)",
        hint: ([hint].compactMap { $0 } + tail.quoted())
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
