import Foundation
import Support

/// Removing a build's work folder safely: a build killed during its chroot step leaves
/// /proc, /sys and /dev mounted inside it, and loop devices on its disk image; those are
/// undone first, and the folder is left alone if anything is still mounted in it.
enum WorkFolder {
  static func remove(_ path: String) {
    let prefix = path.hasSuffix("/") ? path : path + "/"
    if let loops = try? Subprocess(["losetup", "-n", "-O", "NAME,BACK-FILE"]).run() {
      for line in loops.stdout.split(separator: "\n") {
        let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
        if fields.count == 2, fields[1].trimmingCharacters(in: .whitespaces).hasPrefix(prefix) {
          _ = try? Subprocess(["losetup", "-d", fields[0]]).run()
        }
      }
    }
    func mounted() -> [String] {
      let table = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
      return table.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count > 1 else { return nil }
        let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
        return point.hasPrefix(prefix) ? point : nil
      }.sorted { $0.count > $1.count }
    }
    for point in mounted() { _ = try? Subprocess(["umount", "-l", point]).run() }
    guard mounted().isEmpty else { return }
    try? FileSystem.removeTree(path)
  }
}
