import Foundation
import Support
import Testing
import Yams

@testable import Boxes

/// The parts of a MIME archive as Python's email parser (cloud-init's own) reads them:
/// each part's content type and payload.
func mimeParts(_ archive: Data) throws -> [(type: String, body: String)] {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  let script = """
    import email, json, sys
    message = email.message_from_bytes(sys.stdin.buffer.read())
    assert message.is_multipart(), "not multipart"
    print(json.dumps([[p.get_content_type(), p.get_payload(decode=True).decode()]
                      for p in message.walk() if not p.is_multipart()]))
    """
  process.arguments = ["python3", "-c", script]
  let input = Pipe()
  let output = Pipe()
  process.standardInput = input
  process.standardOutput = output
  try process.run()
  input.fileHandleForWriting.write(archive)
  try input.fileHandleForWriting.close()
  let json = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  try #require(process.terminationStatus == 0, "python's email parser refused the archive")
  let parts = try #require(try JSONSerialization.jsonObject(with: json) as? [[String]])
  return parts.map { ($0[0], $0[1]) }
}

/// A cloud-config's YAML as plain Swift values (after its `#cloud-config` line).
func cloudConfig(_ data: Data) throws -> [String: Any] {
  let text = String(decoding: data, as: UTF8.self)
  try #require(text.hasPrefix("#cloud-config\n"), "no #cloud-config line: \(text)")
  return try #require(try Yams.load(yaml: text) as? [String: Any])
}

/// The entry of `users:` named `name`.
func user(_ name: String, in config: [String: Any]) -> [String: Any]? {
  (config["users"] as? [Any])?.compactMap { $0 as? [String: Any] }.first { $0["name"] as? String == name }
}

struct CloudInitUserDataTests {
  let identity = CloudInitIdentity(
    user: "vagrant", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5 caravan-web", hostname: "web.example.test",
    instanceID: "caravan-6f1c")

  func merged(_ text: String) throws -> Data {
    try CloudInitUserData.merge(Data(text.utf8), with: identity, source: "'cloud.yaml'")
  }

  @Test func caravansOwnMetaDataAndCloudConfig() throws {
    let meta = try #require(
      try Yams.load(yaml: String(decoding: identity.metaData, as: UTF8.self)) as? [String: String])
    #expect(meta == ["instance-id": "caravan-6f1c", "local-hostname": "web.example.test"])
    let config = try cloudConfig(try CloudInitUserData.merge(nil, with: identity, source: "none"))
    let vagrant = try #require(user("vagrant", in: config))
    #expect(vagrant["sudo"] as? String == "ALL=(ALL) NOPASSWD:ALL")
    #expect(vagrant["shell"] as? String == "/bin/bash")
    #expect(vagrant["lock_passwd"] as? Bool == true)
    #expect(vagrant["ssh_authorized_keys"] as? [String] == [identity.publicKey])
    #expect(config["hostname"] as? String == "web")
    #expect(config["fqdn"] as? String == "web.example.test")
    #expect(config["ssh_pwauth"] as? Bool == false)
    #expect((config["users"] as? [Any])?.count == 1)
  }

  @Test func aHostnameWithoutADotHasNoFQDNAndOddValuesAreQuoted() throws {
    var plain = identity
    plain.hostname = "db"
    plain.user = "true"
    let config = try cloudConfig(plain.cloudConfig)
    #expect(config["hostname"] as? String == "db")
    #expect(config["fqdn"] == nil)
    #expect(user("true", in: config) != nil, "a user named `true` stays a string")
  }

  @Test func aUserCloudConfigKeepsEveryKeyAndGetsCaravansUser() throws {
    let config = try cloudConfig(
      try merged(
        """
        #cloud-config
        # the team's defaults
        users:
          - default
          - name: alice
            groups: [adm]
        packages: [nginx, git]
        runcmd:
          - [touch, /etc/ready]
        hostname: custom
        ssh_pwauth: true
        write_files:
          - path: /etc/motd
            content: |
              hello
        ssh_authorized_keys: [ssh-ed25519 AAAAdefault]

        """))
    let users = try #require(config["users"] as? [Any])
    #expect(users.count == 3)
    #expect(users.first as? String == "default")
    #expect(user("alice", in: config)?["groups"] as? [String] == ["adm"])
    #expect(user("vagrant", in: config)?["ssh_authorized_keys"] as? [String] == [identity.publicKey])
    #expect(config["packages"] as? [String] == ["nginx", "git"])
    #expect(config["runcmd"] as? [[String]] == [["touch", "/etc/ready"]])
    #expect((config["write_files"] as? [[String: String]])?.first?["content"] == "hello\n")
    // The user's values win where both say something.
    #expect(config["hostname"] as? String == "custom")
    #expect(config["ssh_pwauth"] as? Bool == true)
    #expect(config["fqdn"] as? String == "web.example.test")
    #expect(config["ssh_authorized_keys"] as? [String] == ["ssh-ed25519 AAAAdefault"])
    #expect(config.count == 8, "the user's seven keys and fqdn")
  }

  @Test func aUserOfTheSameNameKeepsItsFieldsAndGetsTheKey() throws {
    let config = try cloudConfig(
      try merged(
        """
        #cloud-config
        users:
          - name: vagrant
            shell: /bin/zsh
            groups: docker
            ssh_authorized_keys:
              - ssh-ed25519 AAAAtheirs alice@laptop
        """))
    let users = try #require(config["users"] as? [Any])
    #expect(users.count == 1)
    let vagrant = try #require(user("vagrant", in: config))
    #expect(vagrant["shell"] as? String == "/bin/zsh")
    #expect(vagrant["groups"] as? String == "docker")
    #expect(vagrant["ssh_authorized_keys"] as? [String] == ["ssh-ed25519 AAAAtheirs alice@laptop", identity.publicKey])
    #expect(vagrant["sudo"] as? String == "ALL=(ALL) NOPASSWD:ALL")
  }

  @Test func usersWrittenAsAStringOrWithTheNameAloneAreMerged() throws {
    let listed = try cloudConfig(try merged("#cloud-config\nusers: default, vagrant\n"))
    #expect((listed["users"] as? [Any])?.first as? String == "default")
    #expect(user("vagrant", in: listed)?["ssh_authorized_keys"] as? [String] == [identity.publicKey])
    #expect((listed["users"] as? [Any])?.count == 2)
    let empty = try cloudConfig(try merged("#cloud-config\n"))
    #expect(user("vagrant", in: empty) != nil)
  }

  @Test func quotedTextsBlocksAndAnchorsKeepTheirMeaning() throws {
    let config = try cloudConfig(
      try merged(
        "#cloud-config\nbootcmd: [\"123\", 'yes', \"a: b\"]\nbase: &b {x: 1}\nother: *b\nnote: |\n  two\n  lines\n"))
    #expect(config["bootcmd"] as? [String] == ["123", "yes", "a: b"])
    #expect(config["other"] as? [String: Int] == ["x": 1])
    #expect(config["note"] as? String == "two\nlines\n")
  }

  /// Yams writes scalars without their tags: a `!!binary` file content would become text.
  @Test func aCloudConfigWithATaggedValueIsKeptAsWrittenInAMIMEArchive() throws {
    let text = "#cloud-config\n# keep me\nwrite_files:\n  - path: /etc/blob\n    content: !!binary aGVsbG8=\n"
    #expect(try mimeParts(try merged("#cloud-config\nbootcmd: [!!str 12]\n")).count == 2, "`!!str 12` is not 12")
    let parts = try mimeParts(try merged(text))
    #expect(parts.map(\.type) == ["text/cloud-config", "text/cloud-config"])
    #expect(parts.first?.body == text)
    let caravan = try cloudConfig(Data(try #require(parts.last?.body).utf8))
    #expect(caravan["merge_how"] as? String == CloudInitUserData.mergeHow)
    #expect(user("vagrant", in: caravan) != nil)
  }

  @Test func aScriptBecomesAMIMEArchiveWithCaravansCloudConfig() throws {
    let script = "#!/bin/sh\necho \"${HOME}\" > /root/ran\n"
    let parts = try mimeParts(try merged(script))
    #expect(parts.map(\.type) == ["text/x-shellscript", "text/cloud-config"])
    #expect(parts.first?.body == script)
    let caravan = try cloudConfig(Data(try #require(parts.last?.body).utf8))
    #expect(caravan["merge_how"] as? String == "list(append)+dict(no_replace,recurse_list)+str()")
    #expect(user("vagrant", in: caravan)?["ssh_authorized_keys"] as? [String] == [identity.publicKey])
  }

  @Test(arguments: [
    ("#cloud-boothook\necho early\n", "text/cloud-boothook"),
    ("#include\nhttps://example.test/a.yaml\n", "text/x-include-url"),
    ("## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}\n", "text/jinja2"),
    ("#part-handler\ndef list_types(): return []\n", "text/part-handler"),
  ])
  func otherPartsKeepTheirType(text: String, type: String) throws {
    let parts = try mimeParts(try merged(text))
    #expect(parts.map(\.type) == [type, "text/cloud-config"])
    #expect(parts.first?.body == text)
  }

  @Test func aMIMEArchiveKeepsEveryPartByteForByteAndGetsCaravansLast() throws {
    let archive = """
      Content-Type: multipart/mixed; boundary="===XYZ==="
      MIME-Version: 1.0

      --===XYZ===
      Content-Type: text/cloud-config; charset="us-ascii"

      #cloud-config
      users: [default]
      packages: [htop]

      --===XYZ===
      Content-Type: text/x-shellscript; charset="us-ascii"

      #!/bin/sh
      echo hi
      --===XYZ===--

      """
    let result = try merged(archive)
    let text = String(decoding: result, as: UTF8.self)
    let closing = try #require(archive.range(of: "--===XYZ===--"))
    #expect(text.hasPrefix(String(archive[..<closing.lowerBound])), "the user's bytes up to the closing line are kept")
    #expect(text.hasSuffix("--===XYZ===--\n"))
    let parts = try mimeParts(result)
    #expect(parts.map(\.type) == ["text/cloud-config", "text/x-shellscript", "text/cloud-config"])
    #expect(parts[0].body == "#cloud-config\nusers: [default]\npackages: [htop]\n")
    #expect(parts[1].body == "#!/bin/sh\necho hi")
    #expect(try cloudConfig(Data(parts[2].body.utf8))["merge_how"] != nil)
  }

  @Test func aMIMEArchiveWithCRLFAndNoClosingLineGetsCaravansPartInItsLineBreaks() throws {
    let archive =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=b1\r\n\r\n--b1\r\n"
      + "Content-Type: text/x-shellscript\r\n\r\n#!/bin/sh\r\ntrue\r\n"
    let text = String(decoding: try merged(archive), as: UTF8.self)
    #expect(text.hasPrefix(archive))
    #expect(!text.dropFirst(archive.count).contains(where: { $0 == "\n" }), "only CRLF line breaks are added")
    #expect(try mimeParts(Data(text.utf8)).map(\.type) == ["text/x-shellscript", "text/cloud-config"])
  }

  @Test func aSinglePartMIMEDocumentBecomesAPartOfANewArchive() throws {
    let single = "Content-Type: text/x-shellscript\nMIME-Version: 1.0\n\n#!/bin/sh\necho one\n"
    let parts = try mimeParts(try merged(single))
    #expect(parts.map(\.type) == ["text/x-shellscript", "text/cloud-config"])
    #expect(parts.first?.body == "#!/bin/sh\necho one\n")
  }

  @Test func problemsNameTheSourceAndTheFix() throws {
    #expect(throws: CaravanError.self) { try merged("just text\n") }
    do {
      _ = try merged("#cloud-config\nusers: [\n")
      Issue.record("invalid YAML was merged")
    } catch let error as CaravanError {
      #expect(error.message.contains("the cloud-config 'cloud.yaml' is not valid YAML"))
    }
    do {
      _ = try merged("#cloud-config\n- a\n- b\n")
      Issue.record("a list was merged as a cloud-config")
    } catch let error as CaravanError {
      #expect(error.message.contains("is not a YAML map"))
    }
    do {
      _ = try merged("Content-Type: multipart/mixed\n\n--x\n")
      Issue.record("a MIME archive without a boundary was merged")
    } catch let error as CaravanError {
      #expect(error.message.contains("with no boundary"))
    }
  }
}
