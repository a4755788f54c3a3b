import CArchive
import Foundation
import Support
import Testing

@testable import Boxes

/// The members of an ISO 9660 image as libarchive's own ISO reader sees them (Rock Ridge names).
func isoMembers(_ image: Data) throws -> [String: Data] {
  let reader = try #require(archive_read_new())
  defer { archive_read_free(reader) }
  try #require(archive_read_support_format_iso9660(reader) == ARCHIVE_OK)
  var members: [String: Data] = [:]
  try image.withUnsafeBytes { buffer in
    try #require(archive_read_open_memory(reader, buffer.baseAddress, buffer.count) == ARCHIVE_OK)
    var entry: OpaquePointer?
    while archive_read_next_header(reader, &entry) == ARCHIVE_OK, let entry {
      let name = String(cString: try #require(archive_entry_pathname(entry)))
      if name == "." { continue }
      var data = Data()
      var chunk = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = archive_read_data(reader, &chunk, chunk.count)
        try #require(n >= 0, "reading \(name)")
        if n == 0 { break }
        data.append(contentsOf: chunk[0..<n])
      }
      members[name] = data
    }
  }
  return members
}

/// Runs `tool` with `arguments`; its standard output (standard error folded in).
func run(_ tool: String, _ arguments: [String]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: tool)
  process.arguments = arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let text = String(decoding: output, as: UTF8.self)
  try #require(process.terminationStatus == 0, "\(tool) \(arguments) failed: \(text)")
  return text
}

struct CloudInitSeedTests {
  let root = NSTemporaryDirectory() + "caravan-seed-\(UUID().uuidString)"
  let seed = CloudInitSeed(
    userData: Data("#cloud-config\nusers:\n  - name: vagrant\n".utf8),
    metaData: Data("instance-id: i-1\nlocal-hostname: web\n".utf8),
    networkConfig: Data("version: 2\nethernets:\n  eth0:\n    dhcp4: true\n".utf8))

  @Test func libarchiveReadsTheThreeFilesBackByteForByte() throws {
    let members = try isoMembers(try seed.image())
    #expect(members["user-data"] == seed.userData)
    #expect(members["meta-data"] == seed.metaData)
    #expect(members["network-config"] == seed.networkConfig)
    #expect(members.keys.sorted() == ["meta-data", "network-config", "user-data"])
  }

  @Test func aMachinesSeedHoldsCaravansMetaDataAndTheMergedUserData() throws {
    let identity = CloudInitIdentity(
      user: "vagrant", publicKey: "ssh-ed25519 AAAAkey web", hostname: "web", instanceID: "caravan-1")
    let user = Data("#cloud-config\npackages: [htop]\n".utf8)
    let machine = try CloudInitSeed(
      identity: identity, userData: user, source: "'c.yaml'", networkConfig: seed.networkConfig)
    let members = try isoMembers(try machine.image())
    #expect(members["meta-data"] == identity.metaData)
    #expect(members["user-data"] == (try CloudInitUserData.merge(user, with: identity, source: "'c.yaml'")))
    #expect(members["network-config"] == seed.networkConfig)
    let plain = try CloudInitSeed(identity: identity, userData: nil, source: "none")
    #expect(plain.userData == identity.cloudConfig && plain.networkConfig == nil)
  }

  @Test func withoutNetworkConfigTheSeedHoldsTwoFiles() throws {
    var plain = seed
    plain.networkConfig = nil
    #expect(try isoMembers(try plain.image()).keys.sorted() == ["meta-data", "user-data"])
  }

  @Test func isoinfoSeesVolumeCidataRockRidgeAndJolietNames() throws {
    let path = root + "/seed.iso"
    try seed.write(to: path)
    defer { try? FileSystem.removeTree(root) }
    let described = try run("/usr/bin/isoinfo", ["-d", "-i", path])
    // The primary descriptor holds d-characters (upper case); blkid, which cloud-init asks,
    // reads the Joliet descriptor's `cidata` (and cloud-init takes either case).
    #expect(described.contains("Volume id: CIDATA"))
    #expect(try run("/usr/sbin/blkid", ["-p", "-o", "value", "-s", "LABEL", path]) == "cidata\n")
    #expect(described.contains("Rock Ridge signatures version"))
    #expect(described.contains("Joliet with UCS level"))
    let rockRidge = try run("/usr/bin/isoinfo", ["-R", "-f", "-i", path])
    #expect(rockRidge.split(separator: "\n").sorted() == ["/meta-data", "/network-config", "/user-data"])
    let joliet = try run("/usr/bin/isoinfo", ["-J", "-f", "-i", path])
    #expect(joliet.split(separator: "\n").sorted() == ["/meta-data", "/network-config", "/user-data"])
    for (name, data) in seed.files {
      let extracted = try run("/usr/bin/isoinfo", ["-R", "-i", path, "-x", "/\(name)"])
      #expect(Data(extracted.utf8) == data, "\(name) read back by isoinfo")
    }
  }

  @Test func xorrisoSeesTheVolumeIDAndTheNames() throws {
    let path = root + "/seed.iso"
    try seed.write(to: path)
    defer { try? FileSystem.removeTree(root) }
    let found = try run("/usr/bin/xorriso", ["-indev", path, "-find", "/", "-type", "f"])
    for name in ["'/user-data'", "'/meta-data'", "'/network-config'"] {
      #expect(found.contains(name), "xorriso lists \(name)")
    }
    #expect(found.contains("Volume id    : 'CIDATA'"))
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600, "user data may hold secrets")
  }

  /// libarchive dates the descriptors, the root directory and its information block with
  /// the clock; `ISOImageDates` sets them all to the seed's fixed time.
  @Test func theSameContentsMakeTheSameBytesWhenever() throws {
    let first = try seed.image()
    Thread.sleep(forTimeInterval: 1.1)
    #expect(try seed.image() == first, "no date from the clock is left in the image")
    var other = seed
    other.metaData = Data("instance-id: i-2\nlocal-hostname: web\n".utf8)
    #expect(try other.image() != first)
  }

  @Test func everyDateIsTheFixedOne() throws {
    let path = root + "/seed.iso"
    try seed.write(to: path)
    defer { try? FileSystem.removeTree(root) }
    let descriptor = try run("/usr/bin/xorriso", ["-indev", path, "-pvd_info"])
    for field in ["Creation Time: ", "Modif. Time  : ", "Eff. Time    : "] {
      #expect(descriptor.contains(field + "2000010100000000"), "\(field) in \(descriptor)")
    }
    // Rock Ridge's stamps of the root and of each file, as isoinfo lists them.
    let listing = try run("/usr/bin/isoinfo", ["-R", "-l", "-i", path])
    let dated = listing.split(separator: "\n").filter { $0.contains("[") }
    #expect(dated.count == 5, "., .. and the three files: \(listing)")
    #expect(dated.allSatisfy { $0.contains("Jan  1 2000") }, "\(listing)")
  }

  @Test func theContentDigestNamesTheContentsNotTheWrite() throws {
    let digest = seed.contentDigest
    #expect(digest.hasPrefix("sha256:") && digest.count == 71)
    #expect(
      CloudInitSeed(userData: seed.userData, metaData: seed.metaData, networkConfig: seed.networkConfig).contentDigest
        == digest)
    var other = seed
    other.metaData = Data("instance-id: i-2\nlocal-hostname: web\n".utf8)
    #expect(other.contentDigest != digest)
    other = seed
    other.networkConfig = nil
    #expect(other.contentDigest != digest)
    // The same bytes moved from one file to another are another seed.
    let swapped = CloudInitSeed(userData: seed.metaData, metaData: seed.userData, networkConfig: seed.networkConfig)
    #expect(swapped.contentDigest != digest)
  }
}
