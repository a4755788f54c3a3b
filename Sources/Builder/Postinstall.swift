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
      "BUILD_HOSTNAME": hostname(spec),
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

/// A chroot of the root file system being built (rootfs strategy).
struct ChrootSteps: PostinstallTarget {
  let root: String
  let log: BuildLog

  func mountSpecial() throws {
    for (kind, path) in [("proc", "/proc"), ("sysfs", "/sys")] {
      try FileSystem.makeDirectory(root + path)
      try Subprocess(["mount", "-t", kind, kind, root + path]).checked(step: "mounting \(path) in the chroot")
    }
    try Subprocess(["mount", "--bind", "/dev", root + "/dev"]).checked(step: "mounting /dev in the chroot")
  }

  func unmountSpecial() {
    for path in ["/dev", "/sys", "/proc"] { _ = try? Subprocess(["umount", "-l", root + path]).run() }
  }

  func runScript(_ script: String, arguments: [String], environment: [String: String], line: (String) -> Void)
    throws -> Int32
  {
    let name = "/tmp/caravan-postinstall-\(getpid()).sh"
    try FileSystem.makeDirectory(root + "/tmp")
    try FileSystem.writeAtomically(Data(script.utf8), to: root + name, mode: 0o700)
    defer { try? FileManager.default.removeItem(atPath: root + name) }
    var env = [
      "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
    ]
    env.merge(environment) { _, own in own }
    env["CARAVAN_CHROOT"] = "1"
    let interpreter = script.hasPrefix("#!") ? [] : ["/bin/sh"]
    return try Subprocess(["chroot", root] + interpreter + [name] + arguments, environment: env)
      .runStreamingLines { _, text in line(text) }
  }

  func copy(_ source: String, to destination: String) throws {
    let target = root + (destination.hasPrefix("/") ? destination : "/" + destination)
    try FileSystem.makeDirectory((target as NSString).deletingLastPathComponent)
    var isDirectory: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
    if isDirectory.boolValue {
      try FileSystem.makeDirectory(target)
      try Subprocess(["cp", "-a", "--no-preserve=ownership", source + "/.", target]).checked(step: "copying \(source)")
    } else {
      try Subprocess(["cp", "-a", "--no-preserve=ownership", source, target]).checked(step: "copying \(source)")
    }
  }
}
