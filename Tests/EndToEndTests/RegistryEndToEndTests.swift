import Foundation
import Testing

/// Boxes in an OCI registry (issue 25), against Debian's `docker-registry` (the
/// distribution registry 2.8) that the test starts on 127.0.0.1 with htpasswd auth and
/// TLS from a CA it makes: `box push` (refused without credentials, or without the CA),
/// a second version that shares the disk uploads only its metadata (the registry's log
/// says so), `skopeo inspect --raw` reads an OCI manifest, `box add` by tag and by
/// digest, a pull resumed from a partial blob, a partial blob with wrong bytes removed
/// and fetched again, a container image refused by name, then `up` and `ssh` on the
/// pulled box and a Machinefile.lock that pins the manifest's digest.
@Suite(
  .guestSlot(minutes: 3), .serialized,
  .enabled(
    if: Harness.enabled && FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry"),
    "needs CARAVAN_BIN, CARAVAN_E2E_BOX and Debian's docker-registry (run `make test`)"))
struct RegistryEndToEnd {
  /// A registry on 127.0.0.1 with TLS (a CA of its own) and one htpasswd user.
  final class Registry {
    let folder: String
    let port: Int
    let process = Process()
    var ca: String { folder + "/ca.pem" }
    var log: String { (try? String(contentsOfFile: folder + "/registry.log", encoding: .utf8)) ?? "" }

    /// `tokenRealm`: the registry asks for bearer tokens from that realm (scripts/token-server.py,
    /// signing with `token.key` here) instead of basic auth.
    init(in folder: String, h: Harness, tokenRealm: String? = nil) throws {
      self.folder = folder
      try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
      port = try Registry.freePort()
      let certificates = try h.run([
        "sh", "-c",
        """
        set -e; cd '\(folder)'
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=caravan-test-ca -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
        htpasswd -Bbn ci secret-pass > htpasswd
        mkdir skopeo-certs && cp ca.pem skopeo-certs/ca.crt
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=caravan-test-token -keyout token.key -out token.pem 2>/dev/null
        """,
      ])
      try #require(certificates.status == 0, "\(certificates)")
      let auth =
        tokenRealm.map {
          """
            token:
              realm: \($0)
              service: caravan-test
              issuer: caravan-test-issuer
              rootcertbundle: \(folder)/token.pem
          """
        } ?? """
            htpasswd:
              realm: caravan-test
              path: \(folder)/htpasswd
          """
      try """
      version: 0.1
      log:
        level: info
      storage:
        filesystem:
          rootdirectory: \(folder)/data
      auth:
      \(auth)
      http:
        addr: 127.0.0.1:\(port)
        tls:
          certificate: \(folder)/server.pem
          key: \(folder)/server.key
      """.write(toFile: folder + "/config.yml", atomically: true, encoding: .utf8)
      process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
      process.arguments = ["serve", folder + "/config.yml"]
      FileManager.default.createFile(atPath: folder + "/registry.log", contents: nil)
      let output = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/registry.log"))
      process.standardOutput = output
      process.standardError = output
      try process.run()
      for _ in 0..<100 {
        let probe = try h.run(["curl", "-s", "-o", "/dev/null", "--cacert", ca, "https://127.0.0.1:\(port)/v2/"])
        if probe.status == 0 { return }
        Thread.sleep(forTimeInterval: 0.1)
      }
      stop()
      Issue.record("the registry did not answer on 127.0.0.1:\(port): \(log)")
    }

    func stop() {
      if process.isRunning {
        process.terminate()
        process.waitUntilExit()
      }
    }

    /// The number of blob uploads the registry finished (its log's PUTs to /blobs/uploads/).
    var blobUploads: Int {
      log.split(separator: "\n").filter {
        $0.contains("response completed") && $0.contains("http.request.method=PUT") && $0.contains("/blobs/uploads/")
      }.count
    }

    static func freePort() throws -> Int {
      let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(socket) }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      address.sin_port = 0
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
      }
      _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
      }
      return Int(UInt16(bigEndian: address.sin_port))
    }
  }

  @Test func pushPullResumeAndBootABoxFromARegistry() throws {
    let h = try Harness(name: "registry")
    defer { h.cleanUp() }
    let registry = try Registry(in: h.root + "/registry", h: h)
    defer { registry.stop() }
    let host = "127.0.0.1:\(registry.port)"
    let login = ["CARAVAN_REGISTRY_AUTH": "ci:secret-pass", "CARAVAN_CA_FILE": registry.ca]
    #expect(try h.caravan("box", "add", "test/oci", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "test/oci", "--all", "--force", in: h.root) }

    // Refused with the reason: no CA for its certificate, then no credentials, then wrong ones.
    let noCA = try h.caravan("box", "push", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root)
    #expect(noCA.status == 1 && noCA.stderr.contains("CARAVAN_CA_FILE"), "\(noCA)")
    let noLogin = try h.caravan(
      "box", "push", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root,
      environment: ["CARAVAN_CA_FILE": registry.ca])
    #expect(noLogin.status == 1 && noLogin.stderr.contains("set CARAVAN_REGISTRY_AUTH=user:password"), "\(noLogin)")
    let wrong = try h.caravan(
      "box", "push", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root,
      environment: ["CARAVAN_CA_FILE": registry.ca, "CARAVAN_REGISTRY_AUTH": "ci:nope"])
    #expect(wrong.status == 1 && wrong.stderr.contains("refused the credentials (HTTP 401)"), "\(wrong)")

    let push = try h.caravan(
      "box", "push", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root, environment: login)
    try #require(push.status == 0, "\(push)")
    #expect(push.stdout.contains("(2 blobs uploaded, 0 already there)"), "\(push)")
    #expect(registry.blobUploads == 2, "\(registry.log)")

    // A second version with the same disk and other metadata: only the metadata goes up.
    let staging = h.root + "/v2"
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    let repack = try h.run([
      "sh", "-c",
      """
      set -e; cd '\(staging)'
      tar -xf '\(Harness.boxFile)'
      sed -i 's/"provider"/"description":"v2","provider"/' metadata.json
      tar -cf ../v2.box *
      """,
    ])
    try #require(repack.status == 0, "\(repack)")
    #expect(
      try h.caravan("box", "add", "test/oci", h.root + "/v2.box", "--box-version", "2", in: h.root).status == 0)
    let second = try h.caravan(
      "box", "push", "test/oci", "oci://\(host)/boxes/debian:v2", "--box-version", "2", in: h.root,
      environment: login)
    #expect(second.status == 0 && second.stdout.contains("(1 blob uploaded, 1 already there)"), "\(second)")
    #expect(registry.blobUploads == 3, "only the changed blob was uploaded: \(registry.log)")

    // skopeo reads it as a valid OCI manifest.
    let inspect = try h.run([
      "skopeo", "inspect", "--raw", "--creds", "ci:secret-pass", "--cert-dir", registry.folder + "/skopeo-certs",
      "docker://\(host)/boxes/debian:v1",
    ])
    #expect(inspect.status == 0, "\(inspect)")
    let manifest = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
    #expect(manifest?["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json", "\(inspect)")
    #expect(
      (manifest?["config"] as? [String: Any])?["mediaType"] as? String == "application/vnd.caravan.box.config.v1+json")
    let digest = try #require(
      push.stdout.components(separatedBy: ": sha256:").dropFirst().first.map { "sha256:" + $0.prefix(64) })

    // Pull by tag, then by digest.
    #expect(try h.caravan("box", "remove", "test/oci", "--all", "--force", in: h.root).status == 0)
    let byTag = try h.caravan("box", "add", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root, environment: login)
    #expect(byTag.status == 0 && byTag.stdout.contains("box 'test/oci' (version 0, libvirt) added"), "\(byTag)")
    #expect(try h.caravan("box", "remove", "test/oci", "--force", in: h.root).status == 0)
    let byDigest = try h.caravan(
      "box", "add", "test/oci", "oci://\(host)/boxes/debian@\(digest)", in: h.root, environment: login)
    #expect(byDigest.status == 0, "\(byDigest)")
    #expect(try h.caravan("box", "remove", "test/oci", "--force", in: h.root).status == 0)

    // A pull stopped half way resumes from its partial blob; a partial of wrong bytes is
    // found by its digest, removed, and the next pull fetches it whole.
    let layer = try #require(
      ((manifest?["layers"] as? [[String: Any]])?.first?["digest"] as? String), "\(inspect)")
    let partialFolder = h.home + "/boxes/.oci-partial"
    try FileManager.default.createDirectory(atPath: partialFolder, withIntermediateDirectories: true)
    let partial = partialFolder + "/" + layer.replacingOccurrences(of: ":", with: "-")
    let half = try h.run(["sh", "-c", "tar -xOf '\(Harness.boxFile)' box.img | head -c 50000000 > '\(partial)'"])
    try #require(half.status == 0, "\(half)")
    let resumed = try h.caravan(
      "box", "add", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root, environment: login)
    #expect(resumed.status == 0 && resumed.stdout.contains("resuming disk image 'box.img' at "), "\(resumed)")
    #expect(try h.caravan("box", "remove", "test/oci", "--force", in: h.root).status == 0)
    try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: partial))
    let corrupt = try h.caravan(
      "box", "add", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root, environment: login)
    #expect(corrupt.status == 1 && corrupt.stderr.contains("its manifest says \(layer); it was removed"), "\(corrupt)")
    #expect(try h.caravan("box", "list", in: h.root).stdout.contains("test/oci") == false, "nothing half-installed")
    let again = try h.caravan("box", "add", "test/oci", "oci://\(host)/boxes/debian:v1", in: h.root, environment: login)
    #expect(again.status == 0, "\(again)")

    // A container image is refused by name.
    let container = try h.run([
      "sh", "-c",
      """
      set -e
      api=https://\(host)/v2/other/app; auth='ci:secret-pass'; ca='\(registry.ca)'
      printf '{}' > '\(h.root)/config.json'
      d=sha256:$(sha256sum '\(h.root)/config.json' | cut -d' ' -f1)
      loc=$(curl -sS --cacert "$ca" -u "$auth" -X POST -D - -o /dev/null "$api/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')
      case "$loc" in http*) ;; *) loc="https://\(host)$loc" ;; esac
      curl -sSf --cacert "$ca" -u "$auth" -X PUT -H 'Content-Type: application/octet-stream' --data-binary @'\(h.root)/config.json' "$loc&digest=$d"
      printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[]}' "$d" > '\(h.root)/manifest.json'
      curl -sSf --cacert "$ca" -u "$auth" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @'\(h.root)/manifest.json' "$api/manifests/1"
      """,
    ])
    try #require(container.status == 0, "\(container)")
    let refused = try h.caravan("box", "add", "other/app", "oci://\(host)/other/app:1", in: h.root, environment: login)
    #expect(refused.status == 1 && refused.stderr.contains("is not a Caravan box"), "\(refused)")
    let missing = try h.caravan("box", "add", "x/y", "oci://\(host)/boxes/debian:nope", in: h.root, environment: login)
    #expect(missing.status == 1 && missing.stderr.contains("is not in the registry"), "\(missing)")

    // A machine from the pulled box; its lock pins the manifest digest.
    try h.write(
      """
      box "test/oci", url: "oci://\(host)/boxes/debian:v1"
      memory 512MiB
      """, to: "p/Machinefile")
    let project = h.root + "/p"
    let up = try h.run([Harness.binary, "up"], in: project, environment: login)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    let ssh = try h.caravan("ssh", "-c", "cat /etc/debian_version", in: project)
    #expect(ssh.status == 0 && ssh.stdout.hasPrefix("12"), "\(ssh)")
    let lock = try String(contentsOfFile: project + "/Machinefile.lock", encoding: .utf8)
    #expect(lock.contains("\"kind\": \"oci\"") && lock.contains("boxes/debian:v1@\(digest)"), "\(lock)")
    let locked = try h.run([Harness.binary, "up", "--locked"], in: project, environment: login)
    #expect(locked.status == 0, "\(locked)")
    #expect(try h.caravan("destroy", "-f", in: project).status == 0)
  }
  /// Warm states travel: one home makes the box's state and pushes it; another home (a
  /// second runner, with the box's volume under another name) pulls it, and its warm `up`
  /// restores it without making one. A state made for another QEMU is refused with the
  /// reason and nothing installed; a state of another box image too.
  @Test func aWarmStatePushedByOneRunnerStartsAnothersMachine() throws {
    let h = try Harness(name: "registrywarm")
    defer { h.cleanUp() }
    let registry = try Registry(in: h.root + "/registry", h: h)
    defer { registry.stop() }
    let host = "127.0.0.1:\(registry.port)"
    let login = ["CARAVAN_REGISTRY_AUTH": "ci:secret-pass", "CARAVAN_CA_FILE": registry.ca]
    let other = login.merging(["CARAVAN_HOME": h.root + "/runner2"]) { $1 }
    #expect(try h.caravan("box", "add", "test/warm", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "test/warm", "--force", in: h.root) }
    #expect(try h.caravan("box", "add", "test/warm", Harness.boxFile, in: h.root, environment: other).status == 0)
    defer { _ = try? h.caravan("box", "remove", "test/warm", "--force", in: h.root, environment: other) }

    let push = try h.caravan(
      "box", "warm", "test/warm", "--memory", "512MiB", "--push", "oci://\(host)/warm/debian:s1", in: h.root,
      environment: login)
    try #require(push.status == 0, "\(push)")
    #expect(push.stdout.contains("now has a warm state") && push.stdout.contains("(2 blobs uploaded"), "\(push)")

    // A state whose record says another QEMU made it: refused, nothing installed.
    let tampered = try h.run([
      "sh", "-c",
      """
      set -e
      api=https://\(host)/v2/warm/debian; auth='ci:secret-pass'; ca='\(registry.ca)'; cd '\(h.root)'
      curl -sSf --cacert "$ca" -u "$auth" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$api/manifests/s1" > m.json
      cfg=$(python3 -c 'import json; print(json.load(open("m.json"))["config"]["digest"])')
      curl -sSfL --cacert "$ca" -u "$auth" "$api/blobs/$cfg" | sed 's/"qemuVersion" : "[^"]*"/"qemuVersion" : "0.0.1"/' > record.json
      grep -q '"0.0.1"' record.json
      d=sha256:$(sha256sum record.json | cut -d' ' -f1); n=$(stat -c %s record.json)
      loc=$(curl -sS --cacert "$ca" -u "$auth" -X POST -D - -o /dev/null "$api/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')
      case "$loc" in http*) ;; *) loc="https://\(host)$loc" ;; esac
      curl -sSf --cacert "$ca" -u "$auth" -X PUT -H 'Content-Type: application/octet-stream' --data-binary @record.json "$loc&digest=$d"
      python3 -c 'import json,sys; m=json.load(open("m.json")); m["config"]["digest"]=sys.argv[1]; m["config"]["size"]=int(sys.argv[2]); json.dump(m, open("m2.json","w"))' "$d" "$n"
      curl -sSf --cacert "$ca" -u "$auth" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @m2.json "$api/manifests/old-qemu"
      """,
    ])
    try #require(tampered.status == 0, "\(tampered)")
    let refused = try h.caravan(
      "box", "warm", "test/warm", "--pull", "oci://\(host)/warm/debian:old-qemu", in: h.root, environment: other)
    #expect(refused.status == 1, "\(refused)")
    #expect(refused.stderr.contains("does not fit this host: QEMU was 0.0.1 when it was made"), "\(refused)")
    #expect(!(try h.caravan("box", "list", in: h.root, environment: other).stdout.contains("warm state")))
    let notABox = try h.caravan(
      "box", "warm", "test/warm", "--pull", "oci://\(host)/warm/debian:s1", in: h.root,
      environment: other.merging(["CARAVAN_HOME": h.root + "/runner3"]) { $1 })
    #expect(notABox.status == 1 && notABox.stderr.contains("test/warm"), "no such box there: \(notABox)")

    // The other runner pulls it and restores a machine from it.
    let pull = try h.caravan(
      "box", "warm", "test/warm", "--pull", "oci://\(host)/warm/debian:s1", in: h.root, environment: other)
    try #require(pull.status == 0, "\(pull)")
    #expect(pull.stdout.contains("for 1 CPU and 512 MiB"), "\(pull)")
    try h.write(
      """
      box "test/warm"
      memory 512MiB
      cpus 1
      """, to: "w/Machinefile")
    let project = h.root + "/w"
    let up = try h.run([Harness.binary, "up", "--warm"], in: project, environment: other)
    defer { _ = try? h.run([Harness.binary, "destroy", "-f"], in: project, environment: other) }
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("restored from the warm state"), "\(up)")
    #expect(!up.stdout.contains("making it now"), "the pulled state fitted: \(up)")
    let ssh = try h.run([Harness.binary, "ssh", "-c", "cat /etc/debian_version"], in: project, environment: other)
    #expect(ssh.status == 0 && ssh.stdout.hasPrefix("12"), "\(ssh)")
    #expect(try h.run([Harness.binary, "destroy", "-f"], in: project, environment: other).status == 0)
  }
  /// A proxy in front of the registry (scripts/tcp-proxy.py): slow, or cutting a connection.
  /// Started detached (`setsid`), not as this process's child: with a long-lived child of
  /// its own, Foundation's Process missed the exit of the next one (see the remote suite).
  final class Proxy {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/tcp-proxy.py").path
    let port: Int
    let pid: Int32

    init(to target: Int, bytesPerSecond: Int = 0, cutAfter: Int = 0, h: Harness) throws {
      port = try Registry.freePort()
      pid = try Proxy.detached(
        [Proxy.script, "\(port)", "\(target)", "\(bytesPerSecond)", "\(cutAfter)"], log: h.root + "/proxy-\(port).log",
        h: h)
    }

    /// Starts a python3 script of scripts/ detached (`setsid`), its output in `log`, and waits
    /// for its "ready"; returns its PID.
    /// It says its own PID with "ready": `setsid` may fork, so `$!` is not always the script's.
    static func detached(_ arguments: [String], log: String, h: Harness) throws -> Int32 {
      let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
      _ = try h.run(["sh", "-c", "setsid python3 \(quoted) > '\(log)' 2>&1 < /dev/null &"])
      func said() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
      for _ in 0..<100 where !said().contains("ready") { Thread.sleep(forTimeInterval: 0.05) }
      let line = said().split(separator: "\n").first { $0.hasPrefix("ready ") }
      return line.flatMap { Int32($0.dropFirst("ready ".count)) } ?? 0
    }

    func stop() {
      // SIGKILL: a script started from the test may have inherited SIGTERM ignored.
      if pid > 0 { kill(pid, SIGKILL) }
    }
  }

  /// The faults of a registry's network: a push killed half way leaves no blob and the
  /// next one sends it whole; a pull killed half way installs nothing and the next one
  /// resumes; a registry that closes the connection mid-blob is a clear error, nothing is
  /// installed, and the retry resumes.
  @Test func killsAndCutConnectionsMidBlob() throws {
    let h = try Harness(name: "registryfaults")
    defer { h.cleanUp() }
    let registry = try Registry(in: h.root + "/registry", h: h)
    defer { registry.stop() }
    let login = ["CARAVAN_REGISTRY_AUTH": "ci:secret-pass", "CARAVAN_CA_FILE": registry.ca]
    #expect(try h.caravan("box", "add", "test/cut", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "test/cut", "--force", in: h.root) }
    let slow = try Proxy(to: registry.port, bytesPerSecond: 20 << 20, h: h)
    defer { slow.stop() }
    let disk = try h.run(["sh", "-c", "tar -xOf '\(Harness.boxFile)' box.img | sha256sum | cut -d' ' -f1"])
    let digest = "sha256:" + disk.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    func blobStatus(_ repository: String) throws -> String {
      try h.run([
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", "--cacert", registry.ca, "-u", "ci:secret-pass",
        "https://127.0.0.1:\(registry.port)/v2/\(repository)/blobs/\(digest)",
      ]).stdout
    }

    // A push killed while its disk goes up: the registry keeps no part of it.
    let pushLog = h.root + "/push.log"
    let push = try h.spawn(
      ["box", "push", "test/cut", "oci://127.0.0.1:\(slow.port)/cut/box:1"], in: h.root, log: pushLog,
      environment: login)
    for _ in 0..<100 where !((try? String(contentsOfFile: pushLog, encoding: .utf8)) ?? "").contains("uploading disk") {
      Thread.sleep(forTimeInterval: 0.1)
    }
    Thread.sleep(forTimeInterval: 2)
    let pushed0 = (try? String(contentsOfFile: pushLog, encoding: .utf8)) ?? ""
    try #require(push.isRunning, "the push ended before it was killed: \(pushed0)")
    kill(push.processIdentifier, SIGKILL)
    push.waitUntilExit()
    #expect(try blobStatus("cut/box") == "404", "no partial blob is kept")
    let pushed = try h.caravan(
      "box", "push", "test/cut", "oci://127.0.0.1:\(registry.port)/cut/box:1", in: h.root, environment: login)
    #expect(pushed.status == 0 && pushed.stdout.contains("(2 blobs uploaded"), "\(pushed)")
    #expect(try blobStatus("cut/box") == "200")

    // A pull killed half way: nothing installed; the next pull resumes.
    #expect(try h.caravan("box", "remove", "test/cut", "--force", in: h.root).status == 0)
    let partial = h.home + "/boxes/.oci-partial/" + digest.replacingOccurrences(of: ":", with: "-")
    let pull = try h.spawn(
      ["box", "add", "test/cut", "oci://127.0.0.1:\(slow.port)/cut/box:1"], in: h.root, log: h.root + "/pull.log",
      environment: login)
    func partialBytes() -> Int {
      ((try? FileManager.default.attributesOfItem(atPath: partial))?[.size] as? NSNumber)?.intValue ?? 0
    }
    for _ in 0..<200 where partialBytes() < 20 << 20 { Thread.sleep(forTimeInterval: 0.1) }
    try #require(pull.isRunning, "the pull ended before it was killed")
    kill(pull.processIdentifier, SIGKILL)
    pull.waitUntilExit()
    #expect(partialBytes() >= 20 << 20)
    #expect(!(try h.caravan("box", "list", in: h.root).stdout.contains("test/cut")), "nothing half-installed")
    let resumed = try h.caravan(
      "box", "add", "test/cut", "oci://127.0.0.1:\(registry.port)/cut/box:1", in: h.root, environment: login)
    #expect(resumed.status == 0 && resumed.stdout.contains("resuming disk image 'box.img' at "), "\(resumed)")

    // The connection closed mid-blob: the error names the reference and the retry; the retry resumes.
    #expect(try h.caravan("box", "remove", "test/cut", "--force", in: h.root).status == 0)
    try? FileManager.default.removeItem(atPath: partial)
    let cutting = try Proxy(to: registry.port, cutAfter: 40 << 20, h: h)
    defer { cutting.stop() }
    let cut = try h.caravan(
      "box", "add", "test/cut", "oci://127.0.0.1:\(cutting.port)/cut/box:1", in: h.root, environment: login)
    #expect(cut.status == 1, "\(cut)")
    #expect(
      cut.stderr.contains("fetching disk image 'box.img' of oci://127.0.0.1:\(cutting.port)/cut/box:1 stopped after"),
      "\(cut)")
    #expect(cut.stderr.contains("Run the same command again"), "\(cut)")
    #expect(!(try h.caravan("box", "list", in: h.root).stdout.contains("test/cut")), "nothing half-installed")
    let retried = try h.caravan(
      "box", "add", "test/cut", "oci://127.0.0.1:\(registry.port)/cut/box:1", in: h.root, environment: login)
    #expect(retried.status == 0 && retried.stdout.contains("resuming disk image 'box.img' at "), "\(retried)")
  }
  /// The registry's token flow: it answers `WWW-Authenticate: Bearer realm=…,service=…,scope=…`,
  /// Caravan gets a token for the repository's scope from the realm with the credentials
  /// (scripts/token-server.py, a JWT the registry verifies against its certificate), and
  /// push and pull go through with it; a wrong password is refused by the token service.
  @Test func pushAndPullThroughTheBearerTokenHandshake() throws {
    let h = try Harness(name: "registrytoken")
    defer { h.cleanUp() }
    let tokenPort = try Registry.freePort()
    let registry = try Registry(
      in: h.root + "/registry", h: h, tokenRealm: "http://127.0.0.1:\(tokenPort)/token")
    defer { registry.stop() }
    let folder = registry.folder
    let tokenLog = h.root + "/token.log"
    let token = try Proxy.detached(
      [
        Proxy.script.replacingOccurrences(of: "tcp-proxy.py", with: "token-server.py"), "\(tokenPort)",
        "ci:secret-pass", folder + "/token.key", folder + "/token.pem", "caravan-test-issuer",
      ], log: tokenLog, h: h)
    defer { if token > 0 { kill(token, SIGKILL) } }
    let host = "127.0.0.1:\(registry.port)"
    let login = ["CARAVAN_REGISTRY_AUTH": "ci:secret-pass", "CARAVAN_CA_FILE": registry.ca]
    #expect(try h.caravan("box", "add", "test/token", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "test/token", "--force", in: h.root) }

    let wrong = try h.caravan(
      "box", "push", "test/token", "oci://\(host)/boxes/token:1", in: h.root,
      environment: ["CARAVAN_CA_FILE": registry.ca, "CARAVAN_REGISTRY_AUTH": "ci:nope"])
    #expect(wrong.status == 1 && wrong.stderr.contains("refused the credentials"), "\(wrong)")
    let push = try h.caravan("box", "push", "test/token", "oci://\(host)/boxes/token:1", in: h.root, environment: login)
    #expect(push.status == 0 && push.stdout.contains("(2 blobs uploaded"), "\(push)")
    let asked = (try? String(contentsOfFile: tokenLog, encoding: .utf8)) ?? ""
    #expect(
      asked.removingPercentEncoding?.contains("scope=repository:boxes/token:pull,push") == true,
      "a token for the repository: \(asked) \(registry.log.suffix(3000))")
    #expect(try h.caravan("box", "remove", "test/token", "--force", in: h.root).status == 0)
    let pull = try h.caravan("box", "add", "test/token", "oci://\(host)/boxes/token:1", in: h.root, environment: login)
    #expect(pull.status == 0 && pull.stdout.contains("box 'test/token' (version 0, libvirt) added"), "\(pull)")

    // A .box file that is not installed is pushed as it is; nothing of it stays installed.
    let file = try h.caravan(
      "box", "push", Harness.boxFile, "oci://\(host)/boxes/file:1", "--box-name", "test/file", "--json", in: h.root,
      environment: login)
    let pushed = (try? JSONSerialization.jsonObject(with: Data(file.stdout.utf8))) as? [String: Any]
    #expect(file.status == 0 && pushed?["box"] as? String == "test/file", "\(file)")
    #expect((pushed?["uploaded"] as? [String])?.isEmpty == false, "the disk and metadata went up: \(file)")
    #expect((pushed?["pinned"] as? String)?.contains("@sha256:") == true, "\(file)")
    #expect(!(try h.caravan("box", "list", in: h.root).stdout.contains("test/file")))
    let fromFile = try h.caravan("box", "add", "oci://\(host)/boxes/file:1", in: h.root, environment: login)
    #expect(
      fromFile.status == 0 && fromFile.stdout.contains("box 'test/file' (version 0, libvirt) added"), "\(fromFile)")
    _ = try? h.caravan("box", "remove", "test/file", "--force", in: h.root)
  }
}
