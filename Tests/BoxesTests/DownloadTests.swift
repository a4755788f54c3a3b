import Foundation
import Spec
import Support
import TestSupport
import Testing

@testable import Boxes

/// Box downloads against a real HTTP server on 127.0.0.1: catalogs, resume
/// after a cut connection, checksums, redirects, tokens, tar.gz.
@Suite(.serialized)
struct DownloadTests {
  let root = NSTemporaryDirectory() + "caravan-dl-\(UUID().uuidString)"
  var served: String { root + "/served" }
  var store: BoxStore { BoxStore(root: root + "/store") }

  /// A box of `megabytes` MiB of varied bytes; returns its sha256.
  @discardableResult
  func makeBox(_ file: String, megabytes: Int = 3, gzip: Bool = false) throws -> String {
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    var image = Data(count: megabytes << 20)
    image.withUnsafeMutableBytes { buffer in
      var x: UInt32 = 2_463_534_242
      for i in stride(from: 0, to: buffer.count, by: 4) {
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        buffer.storeBytes(of: x, toByteOffset: i, as: UInt32.self)
      }
    }
    var tar = TarBuilder()
    tar.add("metadata.json", contents: Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8))
    tar.add("Vagrantfile", contents: Data("# test\n".utf8))
    tar.add("box.img", contents: image)
    let path = served + "/" + file
    try tar.finish(to: gzip ? path + ".tar" : path)
    if gzip {
      let zip = Process()
      zip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      zip.arguments = ["sh", "-c", "gzip -c '\(path).tar' > '\(path)' && rm '\(path).tar'"]
      try zip.run()
      zip.waitUntilExit()
    }
    var digest = StreamingDigest(.sha256)
    digest.update(try Data(contentsOf: URL(fileURLWithPath: path)))
    return digest.finalizeHex()
  }

  func writeCatalog(_ file: String, versions: [(String, String, String?)]) throws {
    let list = versions.map { version, url, sha in
      """
      {"version": "\(version)", "status": "active", "providers": [
        {"name": "virtualbox", "url": "\(url)"},
        {"name": "libvirt", "url": "\(url)"\(sha.map { #", "checksum_type": "sha256", "checksum": "\#($0)""# } ?? "")}]}
      """
    }.joined(separator: ",\n")
    try #"{"name": "test/box", "versions": [\#(list)]}"#.write(
      toFile: served + "/" + file, atomically: true, encoding: .utf8)
  }

  /// With a token, `server` is the box server (CARAVAN_SERVER_URL), the only place the token goes.
  func installer(token: String? = nil, server: String? = nil) -> BoxInstaller {
    var environment: [String: String] = [:]
    environment["CARAVAN_CLOUD_TOKEN"] = token
    environment["CARAVAN_SERVER_URL"] = server
    return BoxInstaller(store: store, environment: environment)
  }

  @Test func catalogPicksTheNewestMatchingVersionAndChecksItsChecksum() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sha = try makeBox("b.box")
    try writeCatalog(
      "catalog.json", versions: [("12.0.0", "b.box", sha), ("12.2.0", "b.box", sha), ("13.0.0", "b.box", sha)])
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let box = try installer().add(.init(source: server.base + "/catalog.json", version: "~> 12.0"))
    #expect(box.name == "test/box")
    #expect(box.version == "12.2.0")
    #expect(FileManager.default.fileExists(atPath: box.directory + "/box.img"))
    #expect(store.catalogURL(name: "test/box") == server.base + "/catalog.json")
    // Already installed: not downloaded again.
    let before = server.requests(containing: "b.box").count
    _ = try installer().add(.init(source: server.base + "/catalog.json", version: "~> 12.0"))
    #expect(server.requests(containing: "b.box").count == before)
  }

  @Test(arguments: ["cut", "cut-norange"])
  func aCutConnectionIsResumedAndTheChecksumStillMatches(mode: String) throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sha = try makeBox("big.box", megabytes: 8)
    try writeCatalog("catalog.json", versions: [("1.0.0", "/\(mode)/big.box", sha)])
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let box = try installer().add(.init(source: server.base + "/catalog.json"))
    let image = try FileManager.default.attributesOfItem(atPath: box.directory + "/box.img")[.size] as? Int
    #expect(image == 8 << 20)
    let requests = server.requests(containing: "big.box")
    #expect(requests.count == 2, "\(requests)")
    if mode == "cut" {
      #expect(
        (requests.last?["range"] as? String)?.hasPrefix("bytes=") == true, "the second request resumes: \(requests)")
      #expect(requests.last?["status"] as? Int == 206)
    } else {
      #expect(requests.last?["status"] as? Int == 200, "the server sent it all again and the start was skipped")
    }
  }

  @Test func aWrongChecksumInstallsNothing() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    try makeBox("b.box")
    let wrong = String(repeating: "0", count: 64)
    try writeCatalog("catalog.json", versions: [("1.0.0", "b.box", wrong)])
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let error = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/catalog.json"))
    }
    #expect(error.message.contains("checksum mismatch"), "\(error)")
    #expect(error.message.contains("sha256:" + wrong), "\(error)")
    #expect(try store.list().isEmpty)
    #expect(
      (try? FileManager.default.contentsOfDirectory(atPath: store.root))?.isEmpty ?? true, "nothing left in the store")
  }

  @Test func redirectsAreFollowedAndGzipBoxesUnpacked() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sha = try makeBox("g.box", gzip: true)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let box = try installer().add(
      .init(
        source: server.base + "/redirect/g.box", name: "gz/box", version: "2.0",
        checksum: try Checksum(parsing: "sha256:" + sha)))
    #expect(box.version == "2.0")
    #expect((try FileManager.default.attributesOfItem(atPath: box.directory + "/box.img")[.size] as? Int) == 3 << 20)
    #expect(server.requests(containing: "g.box").map { $0["status"] as? Int } == [302, 200])
  }

  @Test func aPrivateBoxNeedsTheToken() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    try makeBox("p.box")
    let server = try BoxServer(root: served, token: "s3cret")
    defer { server.stop() }
    let refused = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/private/p.box", name: "p/box"))
    }
    #expect(refused.message.contains("HTTP 401"), "\(refused)")
    #expect(refused.hint?.contains("CARAVAN_CLOUD_TOKEN") == true)
    #expect(try store.list().isEmpty)
    let box = try installer(token: "s3cret", server: server.base).add(
      .init(source: server.base + "/private/p.box", name: "p/box"))
    #expect(box.name == "p/box")
    #expect(server.requests(containing: "p.box").last?["auth"] as? String == "Bearer s3cret")
  }

  @Test func missingBoxAndBadInputAreNamed() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let missing = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/nope.box", name: "x/y"))
    }
    #expect(missing.message == "download of \(server.base)/nope.box failed: HTTP 404, not found")
    let noName = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/nope.box"))
    }
    #expect(noName.message.contains("needs a name"))
    let constraint = try #require(throws: CaravanError.self) {
      try installer().add(.init(source: server.base + "/nope.box", name: "x/y", version: "~> 1.0"))
    }
    #expect(constraint.message.contains("'~> 1.0' is not a version to record"))
  }
}
