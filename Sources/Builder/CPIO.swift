import Foundation

/// The newc ("070701") cpio format, as the kernel's initramfs unpacker reads it.
enum CPIO {
  static func newc(_ files: [(name: String, data: Data)]) -> Data {
    var out = Data()
    var inode = 1
    func entry(_ name: String, mode: Int, data: Data) {
      let fields = [inode, mode, 0, 0, 1, 0, data.count, 0, 0, 0, 0, name.utf8.count + 1, 0]
      inode += 1
      out += Data(("070701" + fields.map { String(format: "%08X", $0) }.joined()).utf8)
      out += Data(name.utf8) + Data([0])
      while out.count % 4 != 0 { out.append(0) }
      out += data
      while out.count % 4 != 0 { out.append(0) }
    }
    var directories = Set<String>()
    for file in files {
      var parent = (file.name as NSString).deletingLastPathComponent
      var chain: [String] = []
      while !parent.isEmpty && parent != "/" && !directories.contains(parent) {
        chain.insert(parent, at: 0)
        parent = (parent as NSString).deletingLastPathComponent
      }
      for directory in chain {
        directories.insert(directory)
        entry(directory, mode: 0o040755, data: Data())
      }
      entry(file.name, mode: 0o100644, data: file.data)
    }
    entry("TRAILER!!!", mode: 0, data: Data())
    return out
  }
}
