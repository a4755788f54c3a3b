import Foundation
import Support

/// How the build runs a host command whose failure ends the step.
extension Subprocess {
  /// Runs to the end; a non-zero exit is an error naming the step and the output.
  func checked(step: String) throws {
    let result = try run()
    guard result.status == 0 else {
      throw CaravanError(
        .io, "\(step) failed: `\(arguments.joined(separator: " "))` exited \(result.status)",
        hint: (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  /// Runs to the end and returns standard output as bytes.
  func runData() throws -> Data {
    var collected = Data()
    var errors = Data()
    let status = try run { stream, chunk in
      if stream == .stdout { collected.append(chunk) } else { errors.append(chunk) }
    }
    guard status == 0 else {
      throw CaravanError(
        .io, "`\(arguments.joined(separator: " "))` exited \(status): \(String(decoding: errors, as: UTF8.self))")
    }
    return collected
  }
}
