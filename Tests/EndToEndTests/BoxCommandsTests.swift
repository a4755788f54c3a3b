import Foundation
import TestSupport
import Testing

/// `caravan box …` against a catalog on 127.0.0.1, no guest needed: add with a
/// constraint, outdated, update, prune, list --json, remove.
@Suite(.ownThreads, .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct BoxCommandsTests {
  @Test func addOutdatedUpdatePruneAndRemoveAgainstACatalog() throws {
    let h = try Harness(name: "boxcmds")
    defer { h.cleanUp() }
    let served = h.root + "/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    let make = try Harness.exec(
      [
        "sh", "-c",
        """
        set -e; cd '\(served)'
        head -c 1048576 /dev/urandom > box.img
        printf '{"provider":"libvirt","format":"qcow2","virtual_size":1}' > metadata.json
        echo '#' > Vagrantfile
        tar -czf small.box metadata.json Vagrantfile box.img
        sha1sum small.box | cut -d' ' -f1
        """,
      ], in: "/", environment: ProcessInfo.processInfo.environment)
    let sha1 = make.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    func catalog(_ versions: [String]) throws {
      let list = versions.map {
        #"{"version":"\#($0)","providers":[{"name":"libvirt","url":"small.box","checksum_type":"sha1","checksum":"\#(sha1)"}]}"#
      }.joined(separator: ",")
      try #"{"name":"acme/small","versions":[\#(list)]}"#.write(
        toFile: served + "/catalog.json", atomically: true, encoding: .utf8)
    }
    try catalog(["1.0.0", "1.1.0", "2.0.0"])
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let url = server.base + "/catalog.json"

    let add = try h.caravan("box", "add", url, "--box-version", "< 1.1", in: h.root)
    #expect(add.status == 0 && add.stdout.contains("box 'acme/small' (version 1.0.0, libvirt) added"), "\(add)")
    let outdated = try h.caravan("box", "outdated", "--global", in: h.root)
    #expect(outdated.stdout.contains("box 'acme/small' is outdated: 1.0.0 installed, 2.0.0 available"), "\(outdated)")
    let update = try h.caravan("box", "update", "--box", "acme/small", in: h.root)
    #expect(update.status == 0 && update.stdout.contains("is at version 2.0.0"), "\(update)")
    #expect(try h.caravan("box", "outdated", "--global", in: h.root).stdout.contains("(2.0.0) is up to date"))

    let dry = try h.caravan("box", "prune", "--dry-run", in: h.root)
    #expect(dry.stdout.contains("would remove box 'acme/small' (1.0.0)"), "\(dry)")
    let prune = try h.caravan("box", "prune", in: h.root)
    #expect(prune.status == 0, "\(prune)")
    let json = try h.caravan("box", "list", "--json", in: h.root)
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect(rows.map { $0["version"] as? String } == ["2.0.0"], "\(json)")

    // A wrong --checksum installs nothing.
    let bad = try h.caravan(
      "box", "add", "other/small", server.base + "/small.box", "--checksum",
      "sha1:" + String(repeating: "0", count: 40), in: h.root)
    #expect(bad.status == 1 && bad.stderr.contains("checksum mismatch"), "\(bad)")
    #expect(!(try h.caravan("box", "list", in: h.root).stdout.contains("other/small")))

    // Proxies come from the environment (http_proxy, no_proxy), as libcurl reads them.
    let far = "http://127.0.0.2:9/small.box"
    let proxied = try h.caravan("box", "add", "via/proxy", far, in: h.root, environment: ["http_proxy": server.base])
    #expect(proxied.status == 0, "\(proxied)")
    #expect(server.requests(containing: "127.0.0.2:9/small.box").first?["path"] as? String == far)
    let direct = try h.caravan(
      "box", "add", "no/proxy", far, in: h.root,
      environment: ["http_proxy": server.base, "no_proxy": "127.0.0.2"])
    #expect(
      direct.status == 1 && direct.stderr.contains("download of \(far) failed"),
      "no_proxy bypasses the proxy: \(direct)")
    #expect(try h.caravan("box", "remove", "via/proxy", in: h.root).status == 0)

    let remove = try h.caravan("box", "remove", "acme/small", in: h.root)
    #expect(remove.status == 0, "\(remove)")
    #expect(try h.caravan("box", "list", in: h.root).stdout.contains("There are no installed boxes"))
  }
}
