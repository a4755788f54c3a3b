import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// Builds ustar archives member by member, hostile ones included.
struct TarBuilder {
  var data = Data()

  mutating func add(
    _ name: String, type: Character = "0", contents: Data = Data(), declaredSize: UInt64? = nil, link: String = ""
  ) {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, _ offset: Int, _ length: Int) {
      for (i, byte) in text.utf8.prefix(length).enumerated() { header[offset + i] = byte }
    }
    put(name, 0, 100)
    put("0000644\0", 100, 8)
    put("0000000\0", 108, 8)
    put("0000000\0", 116, 8)
    let size = declaredSize ?? UInt64(contents.count)
    if size < 1 << 33 {
      put(String(format: "%011llo\0", size), 124, 12)
    } else {  // GNU base-256 for sizes octal cannot hold
      header[124] = 0x80
      for i in 0..<8 { header[135 - i] = UInt8((size >> (8 * UInt64(i))) & 0xff) }
    }
    put("00000000000\0", 136, 12)
    put("        ", 148, 8)
    header[156] = type.asciiValue ?? UInt8(ascii: "0")
    put(link, 157, 100)
    put("ustar\0", 257, 6)
    put("00", 263, 2)
    let sum = header.reduce(0) { $0 + Int($1) }
    put(String(format: "%06o\0 ", sum), 148, 8)
    data.append(contentsOf: header)
    data.append(contents)
    let pad = (512 - contents.count % 512) % 512
    data.append(Data(count: pad))
  }

  func finish(to path: String) throws {
    var out = data
    out.append(Data(count: 1024))
    try out.write(to: URL(fileURLWithPath: path))
  }
}

struct BoxStoreTests {
  let root = NSTemporaryDirectory() + "caravan-boxes-\(UUID().uuidString)"
  static let metadata = Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":4}"#.utf8)

  func box(_ build: (inout TarBuilder) -> Void) throws -> String {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    var tar = TarBuilder()
    build(&tar)
    let path = root + "/\(UUID().uuidString).box"
    try tar.finish(to: path)
    return path
  }

  @Test func addsListsAndRemovesAV1Box() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let file = try box {
      $0.add("./metadata.json", contents: BoxStoreTests.metadata)
      $0.add("./Vagrantfile", contents: Data("Vagrant.configure(\"2\") {}\n".utf8))
      $0.add("./box.img", contents: Data(repeating: 7, count: 3000))
    }
    let store = BoxStore(root: root + "/store")
    let added = try store.add(name: "caravan/debian-12", file: file)
    #expect(added.metadata.virtualSizeGB == 4)
    #expect(FileManager.default.fileExists(atPath: root + "/store/caravan-VAGRANTSLASH-debian-12/0/libvirt/box.img"))
    #expect(try store.list().map { "\($0.name) \($0.version)" } == ["caravan/debian-12 0"])
    let again = try #require(throws: CaravanError.self) { try store.add(name: "caravan/debian-12", file: file) }
    #expect(again.message == "box 'caravan/debian-12' (version 0) is already installed")
    try store.add(name: "caravan/debian-12", file: file, version: "12.10.0")
    try store.add(name: "caravan/debian-12", file: file, version: "12.9.1")
    #expect(try store.find(name: "caravan/debian-12")?.version == "12.10.0", "versions compare numerically")
    for installed in try store.list() { try store.remove(installed) }
    #expect(try store.list().isEmpty)
    #expect(!FileManager.default.fileExists(atPath: root + "/store/caravan-VAGRANTSLASH-debian-12"))
  }

  @Test func readsV2Metadata() throws {
    let meta = try BoxMetadata.parse(
      Data(#"{"provider":"libvirt","disks":[{"path":"box_1.img"},{"path":"box_2.img","name":"data"}]}"#.utf8), file: "m"
    )
    #expect(meta.disks == ["box_1.img", "box_2.img"])
    let wrong = try #require(throws: CaravanError.self) {
      try BoxMetadata.parse(Data(#"{"provider":"virtualbox"}"#.utf8), file: "m")
    }
    #expect(wrong.message.contains("provider is 'virtualbox'"))
  }

  @Test(arguments: [
    ("../evil", "0", "points outside the box folder"),
    ("/etc/evil", "0", "has an absolute path"),
    ("link", "2", "is a symbolic link"),
    ("hard", "1", "is a hard link"),
    ("dev", "3", "is a device file"),
    ("disk", "4", "is a device file"),
    ("pipe", "6", "is a FIFO"),
  ])
  func hostileMembersAreRefusedByNameAndLeaveNothing(member: String, type: String, words: String) throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let file = try box {
      $0.add("metadata.json", contents: BoxStoreTests.metadata)
      $0.add(member, type: Character(type), contents: type == "0" ? Data("x".utf8) : Data(), link: "/etc/passwd")
    }
    let store = BoxStore(root: root + "/store")
    let error = try #require(throws: CaravanError.self) { try store.add(name: "evil", file: file) }
    #expect(error.message.contains("member '\(member)'"), "\(error)")
    #expect(error.message.contains(words), "\(error)")
    #expect(try store.list().isEmpty)
    #expect(
      (try? FileManager.default.contentsOfDirectory(atPath: root + "/store"))?.isEmpty ?? true,
      "a failed add leaves no trace")
    #expect(!FileManager.default.fileExists(atPath: root + "/evil"))
  }

  @Test func absurdDeclaredSizeIsRefused() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let file = try box { $0.add("box.img", declaredSize: 1 << 43) }
    let error = try #require(throws: CaravanError.self) {
      try BoxStore(root: root + "/store").add(name: "huge", file: file)
    }
    #expect(error.message.contains("member 'box.img' declares an absurd size"))
  }

  @Test func notAnArchiveIsSaidPlainly() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let path = root + "/junk.box"
    try Data(repeating: 65, count: 2048).write(to: URL(fileURLWithPath: path))
    let error = try #require(throws: CaravanError.self) {
      try BoxStore(root: root + "/store").add(name: "junk", file: path)
    }
    let expected = "'\(path)' is not a box archive (tar, tar.gz, tar.bz2, tar.xz, tar.zst or zip)"
    #expect(error.message.contains(expected), "\(error)")
  }
}
