import Foundation
import Support

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
