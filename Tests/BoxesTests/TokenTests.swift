import Foundation
import Spec
import Support
import TestSupport
import Testing

@testable import Boxes

/// CARAVAN_CLOUD_TOKEN goes only to the box server (CARAVAN_SERVER_URL's
/// scheme, host and port), checked against real servers that record the
/// Authorization header of every request.
struct TokenTests {
  let root = NSTemporaryDirectory() + "caravan-token-\(UUID().uuidString)"
  var store: BoxStore { BoxStore(root: root + "/store") }
  static let token = "s3cret"

  @Test(arguments: [
    ("https://boxes.example.com/t/box", "https://boxes.example.com", true),
    ("https://BOXES.example.com:443/b.box", "https://boxes.example.com/api", true),
    ("http://127.0.0.1:8080/b.box", "http://127.0.0.1:8080", true),
    ("http://boxes.example.com/b.box", "https://boxes.example.com", false),
    ("https://boxes.example.com/b.box", "http://boxes.example.com", false),
    ("https://boxes.example.com:8443/b.box", "https://boxes.example.com", false),
    ("http://127.0.0.1:8081/b.box", "http://127.0.0.1:8080", false),
    ("https://mirror.example.org/b.box", "https://boxes.example.com", false),
    ("https://boxes.example.com.evil.org/b.box", "https://boxes.example.com", false),
    ("file:///tmp/b.box", "https://boxes.example.com", false),
    ("https://boxes.example.com/b.box", "not a url", false),
  ])
  func theTokenGoesOnlyToTheServersOrigin(url: String, server: String, sent: Bool) {
    #expect(BoxInstaller.sendsToken(to: url, server: server) == sent)
  }

  /// Two servers, A (wants the token under /private/) and B; `p.box` on both,
  /// a catalog `t/box` on A naming `boxURL`.
  func servers(boxURL: (BoxServer, BoxServer) -> String) throws -> (BoxServer, BoxServer) {
    for side in ["a", "b"] {
      try FileManager.default.createDirectory(atPath: root + "/\(side)/t", withIntermediateDirectories: true)
      var tar = TarBuilder()
      tar.add("metadata.json", contents: Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8))
      tar.add("box.img", contents: Data(count: 4096))
      try tar.finish(to: root + "/\(side)/p.box")
    }
    let a = try BoxServer(root: root + "/a", token: TokenTests.token)
    let b = try BoxServer(root: root + "/b")
    let catalog = """
      {"name": "t/box", "versions": [{"version": "1.0", "providers": [{"name": "libvirt", "url": "\(boxURL(a, b))"}]}]}
      """
    try catalog.write(toFile: root + "/a/t/box", atomically: true, encoding: .utf8)
    return (a, b)
  }

  func installer(server: String) -> BoxInstaller {
    BoxInstaller(store: store, environment: ["CARAVAN_CLOUD_TOKEN": TokenTests.token, "CARAVAN_SERVER_URL": server])
  }

  func auth(_ server: BoxServer, _ fragment: String) -> [String?] {
    server.requests(containing: fragment).map { $0["auth"] as? String }
  }

  @Test func theServersOwnCatalogAndBoxGetTheToken() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (a, b) = try servers { a, _ in a.base + "/private/p.box" }
    defer {
      a.stop()
      b.stop()
    }
    let box = try installer(server: a.base + "/private").add(.init(source: "t/box"))
    #expect(box.version == "1.0")
    #expect(auth(a, "t/box") == ["Bearer s3cret"])
    #expect(auth(a, "p.box") == ["Bearer s3cret"])
  }

  @Test func aBoxOnASecondServerDoesNotGetIt() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (a, b) = try servers { _, b in b.base + "/p.box" }
    defer {
      a.stop()
      b.stop()
    }
    let box = try installer(server: a.base + "/private").add(.init(source: "t/box"))
    #expect(box.version == "1.0")
    #expect(auth(a, "t/box") == ["Bearer s3cret"])
    #expect(auth(b, "p.box") == [nil], "another port is another origin")
  }

  @Test func aRedirectToASecondServerDoesNotCarryIt() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (a, b) = try servers { a, b in a.base + "/goto/\(b.port)/p.box" }
    defer {
      a.stop()
      b.stop()
    }
    _ = try installer(server: a.base + "/private").add(.init(source: "t/box"))
    #expect(auth(a, "goto") == ["Bearer s3cret"], "the first hop is the box server")
    #expect(b.requests(containing: "p.box").map { $0["status"] as? Int } == [200])
    #expect(auth(b, "p.box") == [nil], "libcurl drops it on a redirect to another origin")
  }

  @Test func plainHTTPDoesNotGetItWhenTheServerIsHTTPS() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (a, b) = try servers { a, _ in a.base + "/private/p.box" }
    defer {
      a.stop()
      b.stop()
    }
    let httpsServer = "https://127.0.0.1:\(a.port)"
    let refused = try #require(throws: CaravanError.self) {
      try installer(server: httpsServer).add(.init(source: a.base + "/private/p.box", name: "p/box"))
    }
    #expect(refused.message.contains("HTTP 401"), "\(refused)")
    #expect(
      refused.hint
        == "CARAVAN_CLOUD_TOKEN is sent only to the box server CARAVAN_SERVER_URL (\(httpsServer)), not to \(a.base)/private/p.box; set CARAVAN_SERVER_URL to this server if it is yours."
    )
    #expect(auth(a, "p.box") == [nil])
    #expect(try store.list().isEmpty)
  }
}
