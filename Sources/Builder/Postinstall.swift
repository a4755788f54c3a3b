// Postinstall steps: shell scripts and files, in the Boxfile's order. In a VM build they go
// over SSH to the installed guest; in a rootfs build they run in a chroot of the root file
// system on the host. Either way each step's output is streamed, and a failing step stops
// the build naming the step, its exit status and its last lines.

import Foundation
import Spec
import Support

/// Where postinstall steps run.
protocol PostinstallTarget {
  /// Runs a script (its text) with arguments and environment, as root; returns the exit
  /// status, streaming output lines to `line`.
  func runScript(_ script: String, arguments: [String], environment: [String: String], line: (String) -> Void)
    throws -> Int32
  /// Copies a host file or folder to `destination` (scp -r semantics).
  func copy(_ source: String, to destination: String) throws
}

struct Postinstall {
  let spec: BuildSpec
  let log: BuildLog

  /// The environment every step gets: the build's credentials and the box's identity.
  var baseEnvironment: [String: String] {
    var environment = [
      "BUILD_USER": spec.ssh.user, "BUILD_NAME": spec.name, "BUILD_VERSION": spec.version,
      "BUILD_HOSTNAME": spec.hostname,
    ]
    if let password = spec.ssh.password { environment["BUILD_PASSWORD"] = password }
    return environment
  }

  func run(on target: PostinstallTarget) throws {
    for (position, step) in spec.postinstall.enumerated() {
      // A safe point: Ctrl-C stops the build before the next step.
      try Interrupt.process.check()
      let started = Date()
      switch step.kind {
      case .shell(let shell):
        let script: String
        let shown: String
        if let inline = shell.inline {
          script = inline
          shown = "inline script"
        } else {
          let path = shell.path ?? ""
          guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
          else {
            throw CaravanError(
              .notFound, "postinstall step '\(step.name)' names the script \(path), which cannot be read",
              hint: "Check `path:` of the step at \(spec.file):\(step.location); it is relative to the Boxfile.")
          }
          script = text
          shown = path
        }
        log.step("postinstall", "\(position + 1)/\(spec.postinstall.count) \(step.name) (\(shown))")
        var tail = OutputTail(10)
        let environment = baseEnvironment.merging(shell.env) { _, own in own }
        let status = try target.runScript(script, arguments: shell.args, environment: environment) { line in
          log.detail(line)
          tail.append(line)
        }
        guard status == 0 else {
          throw CaravanError(
            .guest, "postinstall step '\(step.name)' (\(shown)) failed with exit status \(status)",
            hint: (tail.quoted(silent: ["Its last lines:"]) + ["The step is at \(spec.file):\(step.location)."])
              .joined(separator: "\n"))
        }
      case .file(let source, let destination):
        log.step("postinstall", "\(position + 1)/\(spec.postinstall.count) \(step.name) (\(source) -> \(destination))")
        guard FileSystem.exists(source) else {
          throw CaravanError(
            .notFound, "postinstall step '\(step.name)' copies \(source), which does not exist",
            hint: "Check `source:` of the step at \(spec.file):\(step.location); it is relative to the Boxfile.")
        }
        try target.copy(source, to: destination)
      default:
        throw CaravanError(.invalidInput, "postinstall step '\(step.name)' is not a shell or file step")
      }
      log.detail(String(format: "%@ done in %.1f s", step.name, Date().timeIntervalSince(started)))
    }
  }
}
