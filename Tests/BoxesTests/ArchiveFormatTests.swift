import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// Runs `script` with /bin/sh in `folder`; fails the test when it fails.
func shell(_ script: String, in folder: String) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/sh")
  process.arguments = ["-c", "set -e; cd '\(folder)'\n" + script]
  try process.run()
  process.waitUntilExit()
  try #require(process.terminationStatus == 0, "failed: \(script)")
}

/// A box folder `src` under `root` (metadata.json, Vagrantfile and `megabytes`
/// MiB of random box.img) for the real tar, zip and compressors to pack.
func makeBoxSource(in root: String, megabytes: Int = 2) throws -> Data {
  try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
  try shell(
    """
    printf '{"provider":"libvirt","format":"qcow2","virtual_size":1}' > metadata.json
    printf 'Vagrant.configure("2") {}\\n' > Vagrantfile
    head -c \(megabytes << 20) /dev/urandom > box.img
    """, in: root + "/src")
  return try Data(contentsOf: URL(fileURLWithPath: root + "/src/box.img"))
}

/// Boxes packed by the real tools, in every format Caravan reads, and
/// archives that are not boxes, damaged, cut short or hostile.
struct ArchiveFormatTests {
  let root = NSTemporaryDirectory() + "caravan-formats-\(UUID().uuidString)"
  var store: BoxStore { BoxStore(root: root + "/store") }

  @Test(arguments: [
    ("tar", "tar -cf ../box.tar metadata.json Vagrantfile box.img"),
    ("tar.gz", "tar -czf ../box.tar.gz metadata.json Vagrantfile box.img"),
    ("tar.bz2", "tar -cjf ../box.tar.bz2 metadata.json Vagrantfile box.img"),
    ("tar.xz", "tar -cJf ../box.tar.xz metadata.json Vagrantfile box.img"),
    ("tar.zst", "tar --zstd -cf ../box.tar.zst metadata.json Vagrantfile box.img"),
    ("zip", "zip -q ../box.zip metadata.json Vagrantfile box.img"),
    (
      "zip with folders",
      "mkdir -p extra/notes && echo hi > extra/notes/a.txt && zip -q -r ../box.zip metadata.json Vagrantfile box.img extra"
    ),
  ])
  func everyBoxFormatInstallsWithTheSameBytes(format: String, pack: String) throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let image = try makeBoxSource(in: root)
    try shell(pack, in: root + "/src")
    let file = root + "/box." + (format.hasPrefix("zip") ? "zip" : format)
    let box = try store.add(name: "formats/box", file: file, version: "1.0")
    #expect(box.metadata.virtualSizeGB == 1)
    #expect(try Data(contentsOf: URL(fileURLWithPath: box.directory + "/box.img")) == image)
    if format == "zip with folders" {
      #expect(FileManager.default.contents(atPath: box.directory + "/extra/notes/a.txt") == Data("hi\n".utf8))
    }
    #expect(
      FileManager.default.contents(atPath: box.directory + "/Vagrantfile") == Data("Vagrant.configure(\"2\") {}\n".utf8)
    )
  }

  @Test(arguments: ["tar.gz", "tar"])
  func aTruncatedArchiveIsRefusedAndLeavesNothing(format: String) throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try makeBoxSource(in: root)
    let compress = format == "tar.gz" ? "z" : ""
    try shell(
      """
      tar -c\(compress)f ../whole metadata.json Vagrantfile box.img
      head -c $(( $(stat -c %s ../whole) / 2 )) ../whole > ../cut.\(format)
      """, in: root + "/src")
    let error = try #require(throws: CaravanError.self) {
      try store.add(name: "cut/box", file: root + "/cut.\(format)")
    }
    #expect(error.message.contains("is damaged or cut short in member 'box.img'"), "\(error)")
    #expect(error.message.lowercased().contains("truncated"), "libarchive's own words say why: \(error)")
    #expect(error.hint?.contains("download it again") == true, "\(error)")
    #expect(try store.list().isEmpty)
    #expect(
      (try? FileManager.default.contentsOfDirectory(atPath: store.root))?.isEmpty ?? true,
      "a failed add leaves no trace")
  }

  @Test func damagedCompressedDataIsRefused() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try makeBoxSource(in: root)
    // Flip bytes in the middle of the xz stream: its checks catch it.
    try shell(
      """
      tar -cJf ../box.tar.xz metadata.json Vagrantfile box.img
      printf 'XXXXXXXX' | dd of=../box.tar.xz bs=1 seek=$(( $(stat -c %s ../box.tar.xz) / 2 )) conv=notrunc status=none
      """, in: root + "/src")
    let error = try #require(throws: CaravanError.self) { try store.add(name: "bad/box", file: root + "/box.tar.xz") }
    #expect(error.message.contains("is damaged or cut short"), "\(error)")
    #expect(try store.list().isEmpty)
  }

  /// A zip read as a stream shows an entry's type only in its central
  /// directory, at the end: libarchive's streaming reader sees a symbolic
  /// link as a plain file. No link is ever made: the member lands as a file
  /// holding the link's text, inside the box folder.
  @Test func aSymbolicLinkInAZipLandsAsAPlainFile() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try makeBoxSource(in: root, megabytes: 1)
    try shell("ln -s /etc/passwd link && zip -q -y ../evil.zip metadata.json link box.img", in: root + "/src")
    let box = try store.add(name: "evil/zip", file: root + "/evil.zip")
    let attributes = try FileManager.default.attributesOfItem(atPath: box.directory + "/link")
    #expect(attributes[.type] as? FileAttributeType == .typeRegular)
    #expect(FileManager.default.contents(atPath: box.directory + "/link") == Data("/etc/passwd".utf8))
  }

  /// The sink unpacks while bytes arrive: a member is on disk, with its
  /// bytes, long before the archive's end has been fed.
  @Test func membersAreWrittenWhileTheArchiveStillArrives() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let image = try makeBoxSource(in: root, megabytes: 8)
    try shell("tar -czf ../box.tar.gz metadata.json Vagrantfile box.img", in: root + "/src")
    let archive = try Data(contentsOf: URL(fileURLWithPath: root + "/box.tar.gz"))
    let staging = root + "/staging"
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    var sink = BoxArchiveSink(into: staging, source: "stream.box", checksum: nil)
    var fed = 0
    func feed(upTo end: Int) throws {
      while fed < end {
        let next = min(fed + 16 << 10, end)
        try archive[fed..<next].withUnsafeBytes { try sink.feed($0) }
        fed = next
      }
    }
    try feed(upTo: archive.count * 3 / 4)
    // With three quarters fed, at least a megabyte of box.img must reach the disk.
    var onDisk = Data()
    let deadline = Date().addingTimeInterval(20)
    while onDisk.count < 1 << 20 && Date() < deadline {
      onDisk = FileManager.default.contents(atPath: staging + "/box.img") ?? Data()
      if onDisk.count < 1 << 20 { usleep(20_000) }
    }
    #expect(onDisk.count >= 1 << 20, "only \(onDisk.count) bytes of box.img on disk before the end was fed")
    #expect(onDisk == image.prefix(onDisk.count))
    try feed(upTo: archive.count)
    try sink.finish()
    #expect(FileManager.default.contents(atPath: staging + "/box.img") == image)
  }

  /// libarchive stops at the tar's end marker; what follows (padding, junk)
  /// is no longer read but still counts for the checksum.
  @Test func bytesAfterTheEndMarkerAreHashedButNotUnpacked() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let image = try makeBoxSource(in: root, megabytes: 1)
    try shell(
      "tar -cf ../box.tar metadata.json box.img && head -c 3000000 /dev/urandom >> ../box.tar", in: root + "/src")
    var digest = StreamingDigest(.sha256)
    digest.update(try Data(contentsOf: URL(fileURLWithPath: root + "/box.tar")))
    let sha = digest.finalizeHex()
    let box = try store.add(name: "tail/box", file: root + "/box.tar", checksum: try Checksum(parsing: "sha256:" + sha))
    #expect(FileManager.default.contents(atPath: box.directory + "/box.img") == image)
  }

  /// When unpacking fails half way, the producer's next write says why
  /// (the thread closed its end), instead of the rest being fed for nothing.
  @Test func aHostileMemberStopsTheFeedingEarly() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    var tar = TarBuilder()
    tar.add("metadata.json", contents: BoxStoreTests.metadata)
    tar.add("link", type: "2", link: "/etc/passwd")
    tar.add("box.img", contents: Data(repeating: 9, count: 16 << 20))
    try FileManager.default.createDirectory(atPath: root + "/staging", withIntermediateDirectories: true)
    try tar.finish(to: root + "/evil.tar")
    let archive = try Data(contentsOf: URL(fileURLWithPath: root + "/evil.tar"))
    var sink = BoxArchiveSink(into: root + "/staging", source: "evil.tar", checksum: nil)
    var fed = 0
    let error = try #require(throws: CaravanError.self) {
      try sink.consume { feed in
        while fed < archive.count {
          let next = min(fed + 64 << 10, archive.count)
          try archive[fed..<next].withUnsafeBytes { try feed($0) }
          fed = next
        }
      }
    }
    #expect(error.message == "'evil.tar': member 'link' is a symbolic link; a box holds only regular files and folders")
    #expect(fed < archive.count / 2, "feeding stopped early (\(fed) of \(archive.count) bytes)")
    #expect(!FileManager.default.fileExists(atPath: root + "/staging/box.img"))
  }

  @Test func abandoningHalfWayStopsTheThreadAndWritesNothingMore() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let image = try makeBoxSource(in: root, megabytes: 4)
    try shell("tar -cf ../box.tar box.img metadata.json", in: root + "/src")
    let archive = try Data(contentsOf: URL(fileURLWithPath: root + "/box.tar"))
    let staging = root + "/staging"
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    do {
      var sink = BoxArchiveSink(into: staging, source: "half.box", checksum: nil)
      try archive.prefix(archive.count / 2).withUnsafeBytes { try sink.feed($0) }
      sink.abandon()
    }
    let written = FileManager.default.contents(atPath: staging + "/box.img") ?? Data()
    usleep(100_000)
    #expect(FileManager.default.contents(atPath: staging + "/box.img") == written, "nothing is written after abandon()")
    #expect(written.count < image.count)
    #expect(!FileManager.default.fileExists(atPath: staging + "/metadata.json"))
  }
}

/// Sparse boxes unpack to the same bytes, still sparse, whatever sparse
/// format GNU tar wrote: old GNU ('S' members, `--format=gnu -S`) or PAX
/// (`--format=pax -S`, sparse versions 0.0, 0.1 and 1.0), compressed or not.
struct SparseBoxTests {
  @Test(arguments: [
    ("--format=gnu", "box.img"),
    ("--format=pax --sparse-version=0.0", "GNU.sparse.offset="),
    ("--format=pax --sparse-version=0.1", "GNU.sparse.map="),
    ("--format=pax --sparse-version=1.0", "GNU.sparse.major=1"),
    ("--format=pax --sparse-version=1.0 --zstd", ""),
  ])
  func sparseMembersAreExtractedWithTheirHoles(format: String, marker: String) throws {
    let root = NSTemporaryDirectory() + "caravan-sparse-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    // 64 MiB of holes with data at 1 MiB, 20 MiB and the very end; tar -S finds the regions.
    try shell(
      """
      printf '{"provider":"libvirt","format":"qcow2","virtual_size":1}' > metadata.json
      truncate -s 64M box.img
      printf 'first' | dd of=box.img bs=1 seek=1048576 conv=notrunc status=none
      head -c 300000 /dev/urandom | dd of=box.img bs=1 seek=20971520 conv=notrunc status=none
      printf 'last!' | dd of=box.img bs=1 seek=67108859 conv=notrunc status=none
      tar \(format) -S -cf ../sparse.box metadata.json box.img
      tar -tvf ../sparse.box | grep -q box.img
      """, in: root + "/src")
    let archive = try Data(contentsOf: URL(fileURLWithPath: root + "/sparse.box"))
    #expect(archive.count < 2 << 20, "tar -S stored only the data regions")
    if !marker.isEmpty {
      #expect(archive.range(of: Data(marker.utf8)) != nil, "the archive is in the sparse format meant (\(marker))")
    }
    if format == "--format=gnu" {
      #expect(
        archive[1024 + 156] == UInt8(ascii: "S"),
        "box.img (after metadata.json's two blocks) is an old-GNU sparse member")
    }
    let store = BoxStore(root: root + "/store")
    let box = try store.add(name: "sparse/box", file: root + "/sparse.box")
    let original = try Data(contentsOf: URL(fileURLWithPath: root + "/src/box.img"))
    let extracted = try Data(contentsOf: URL(fileURLWithPath: box.directory + "/box.img"))
    #expect(extracted.count == 64 << 20)
    #expect(extracted == original)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: box.directory).sorted() == [
        "box.img", "caravan-images.sha256", "caravan-source.json", "metadata.json",
      ],
      "PAX sparse members land under their real name")
    var info = stat()
    stat(box.directory + "/box.img", &info)
    #expect(info.st_blocks * 512 < 4 << 20, "holes stay holes: \(info.st_blocks * 512) bytes allocated")
  }
}
