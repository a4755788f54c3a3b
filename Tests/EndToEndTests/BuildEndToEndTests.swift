import Foundation
import TestSupport
import Testing

/// `caravan build` for real. The rootfs strategy made the test box itself (`make box` runs
/// `caravan build boxes/debian-12`); here: its contract (`box verify`) and its catalog
/// (`box add CATALOG`), the installer strategy with the controlled installer of
/// Tests/Fixtures/installer (preseed- and kickstart-style injection), the iso strategy with
/// a typed boot_command, and bad input that must build nothing and leave nothing.
enum BuildFixtures {
  /// Made by `make fixtures` (Tests/Fixtures/installer/make-fixtures.sh).
  static let path = ProcessInfo.processInfo.environment["CARAVAN_E2E_FIXTURES"] ?? ""
}

extension Trait where Self == ConditionTrait {
  /// The build suites run with the end-to-end tier's binary and box, and the installer fixtures.
  static var buildFixturesMade: Self {
    .enabled(
      if: Harness.enabled && !BuildFixtures.path.isEmpty,
      "needs CARAVAN_BIN, CARAVAN_E2E_BOX and CARAVAN_E2E_FIXTURES (run `make test`)")
  }
}

// One test at a time: each boots a build VM (the rootfs one a box), and one slot is one guest.
// Two suites (this one and `BuildISOEndToEndTests`), so the two halves run at once on two slots.
@Suite(
  .guestSlot(minutes: 5), .serialized, .buildFixturesMade)
struct BuildEndToEndTests {
  static let fixtures = BuildFixtures.path

  /// Build VMs are named from the Boxfile's path; none may be left.
  static func buildDomains() throws -> [String] {
    try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
      .filter { $0.hasPrefix("caravan-build-") }
  }

  /// The build VM's name, as the build says it (`build VM caravan-build-…`).
  static func buildVM(of output: String) -> String? {
    // "build VM NAME, console log …" names the build's own VM; another build's may be named
    // before it ("removing the build VM …, left by a build that was killed").
    let own = output.range(of: #"vm: build VM caravan-build-[0-9a-f]{12},"#, options: .regularExpression)
    guard let range = own ?? output.range(of: #"caravan-build-[0-9a-f]{12}"#, options: .regularExpression) else {
      return nil
    }
    let text = String(output[range])
    return text.range(of: #"caravan-build-[0-9a-f]{12}"#, options: .regularExpression).map { String(text[$0]) }
  }

  static func consoleLog(of output: String) -> String? {
    buildVM(of: output).map { "/var/log/libvirt/qemu/\($0)-console.log" }
  }

  /// Whether the build VM named in this output is gone (other builds may be running).
  static func vmGone(_ output: String) throws -> Bool {
    guard let name = buildVM(of: output) else { return true }
    return try !buildDomains().contains(name)
  }

  @Test func theRootfsBoxMeetsTheContractAndItsCatalogAdds() throws {
    let h = try Harness(name: "build-rootfs")
    defer { h.cleanUp() }
    let verify = try h.caravan("box", "verify", Harness.boxFile, in: h.root)
    #expect(verify.status == 0, "\(verify)")
    for point in [
      "format and metadata: ok", "boots, SSH with the insecure key: ok", "passwordless sudo: ok",
      "DHCP address on the first NIC: ok (eth0 10.0.2.15/24)",
    ] {
      #expect(verify.stdout.contains(point), "\(point)\n\(verify)")
    }
    // `box verify` of a file leaves neither a box nor a pool volume behind.
    #expect(try h.caravan("box", "list", in: h.root).stdout.contains("caravan-verify") == false)
    #expect(try Harness.virsh("vol-list", "caravan").stdout.contains("caravan-verify") == false)

    // The catalog `caravan build` wrote beside the box: `box add CATALOG` reads it and checks its sha256.
    let catalog = (Harness.boxFile as NSString).deletingPathExtension + ".json"
    let text = try String(contentsOfFile: catalog, encoding: .utf8)
    #expect(text.contains("\"checksum_type\" : \"sha256\""), "\(text)")
    let add = try h.caravan("box", "add", catalog, in: h.root)
    #expect(add.status == 0 && add.stdout.contains("box 'caravan/debian-12'"), "\(add)")
    // A box that breaks the contract is named by the point it fails.
    try h.write("{\"provider\":\"virtualbox\"}", to: "bad/metadata.json")
    try h.write("#", to: "bad/Vagrantfile")
    try h.write("not a disk", to: "bad/box.img")
    _ = try h.run(["tar", "-C", h.root + "/bad", "-cf", h.root + "/bad.box", "metadata.json", "Vagrantfile", "box.img"])
    let bad = try h.caravan("box", "verify", h.root + "/bad.box", in: h.root)
    #expect(bad.status == 1 && bad.stderr.contains("box verify: 'format and metadata' failed"), "\(bad)")
  }

  /// Installer strategy, preseed style: the answer file rendered and injected as
  /// /preseed.cfg, the kernel booted with kernel_args, the root file system fetched from
  /// the build's HTTP server, the install's power-off, SSH, postinstall (shell and file),
  /// a v2 box with a catalog entry; then `box verify` of the result.
  /// The installed guest has a password-only user (no authorized_keys, sudo asks for the
  /// password): the build logs in and runs postinstall with `ssh { password }`, and the
  /// stock scripts then give the box its insecure key and passwordless sudo.
  @Test func installerStrategyFromNothingToAVerifiedBox() throws {
    let h = try Harness(name: "build-installer")
    defer { h.cleanUp() }
    try h.write(
      """
      # The controlled installer's answers, preseed style: {{ name }} {{ version }}
      d-i caravan/rootfs string http://{{ http_ip }}:{{ http_port }}/rootfs.tar
      d-i caravan/hostname string {{ hostname }}
      d-i caravan/poweroff boolean true
      d-i passwd/username string {{ user }}
      d-i passwd/user-password password {{ password }}
      """, to: "box/answers.cfg")
    try h.write("from the host\n", to: "box/files/motd.d/caravan")
    try h.write(
      """
      version 1
      var fixtures, default: "\(BuildEndToEndTests.fixtures)"
      build "test/installer", version: "1.2.${BUILD_NUMBER:-0}" {
        strategy installer
        from kernel: "${fixtures}/vmlinuz", initrd: "${fixtures}/initrd.gz"
        template "answers.cfg", as: "preseed.cfg"
        http_dir "${fixtures}"
        kernel_args "preseed/file=/preseed.cfg"
        memory 1GiB
        disk 3GiB
        ssh { user "vagrant"; password "s3cret pass'word" }
        postinstall shell, name: "password", inline: "echo \\"uid $(id -u), stdin $(readlink /proc/self/fd/0)\\"; test -e ~vagrant/.ssh/authorized_keys || echo no keys yet"
        postinstall shell, path: "\(BoxServer.repository)/templates/scripts/vagrant.sh"
        postinstall shell, path: "\(BoxServer.repository)/templates/scripts/sudo.sh"
        postinstall shell, name: "mark", inline: "echo \\"built $BUILD_NAME $BUILD_VERSION\\" > /etc/caravan-build; cat /etc/hostname"
        postinstall file, source: "files", destination: "/etc/caravan-files"
        output "out/installer.box", format: v2, catalog: "out/catalog.json", url: "https://boxes.example.com/"
        timeout 20m
      }
      """, to: "box/Boxfile")
    let build = try h.caravan(
      "build", "box", "--var", "fixtures=\(BuildEndToEndTests.fixtures)", in: h.root,
      environment: ["BUILD_NUMBER": "7"])
    #expect(build.status == 0, "\(build)")
    #expect(build.stdout.contains("injected /preseed.cfg into the initrd"), "\(build)")
    #expect(build.stdout.contains("http: GET /rootfs.tar 200"), "\(build)")
    #expect(build.stdout.contains("postinstall: 1/5 password"), "\(build)")
    #expect(build.stdout.contains("uid 0, stdin /dev/null") && build.stdout.contains("no keys yet"), "\(build)")
    #expect(build.stdout.contains("postinstall: 4/5 mark"), "\(build)")
    #expect(build.stdout.contains("    installer"), "the step's output is streamed: \(build)")
    if let log = BuildEndToEndTests.consoleLog(of: build.stdout) ?? BuildEndToEndTests.consoleLog(of: build.stderr) {
      let console = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      #expect(console.contains("installer: answer file /preseed.cfg read"), "\(console.suffix(3000))")
      #expect(
        console.contains("installer: user vagrant: password set, no authorized_keys, sudo asks for the password"),
        "\(console.suffix(3000))")
    }
    let catalog = try String(contentsOfFile: h.root + "/box/out/catalog.json", encoding: .utf8)
    #expect(catalog.contains("\"version\" : \"1.2.7\"") && catalog.contains("https://boxes.example.com/installer.box"))
    let listing = try h.run(["tar", "-tf", h.root + "/box/out/installer.box"]).stdout
    #expect(listing.contains("box_1.img") && listing.contains("metadata.json") && listing.contains("Vagrantfile"))
    #expect(try BuildEndToEndTests.vmGone(build.stdout), "\(build)")

    // The box it made meets the contract, and carries what postinstall put there.
    let add = try h.caravan("box", "add", h.root + "/box/out/installer.box", "--name", "test/installer", in: h.root)
    #expect(add.status == 0, "\(add)")
    // Its pool volume goes with it (the test's CARAVAN_HOME is removed after, the pool is the host's).
    defer { _ = try? h.caravan("box", "remove", "test/installer", "--force", in: h.root) }
    try h.write("box \"test/installer\"\nmemory 1GiB\n", to: "project/Machinefile")
    let up = try h.caravan("up", in: h.root + "/project")
    #expect(up.status == 0, "\(up)")
    let ssh = try h.caravan(
      "ssh", "-c", "cat /etc/caravan-build /etc/caravan-files/motd.d/caravan; hostname", in: h.root + "/project")
    #expect(ssh.stdout.contains("built test/installer 1.2.7") && ssh.stdout.contains("from the host"), "\(ssh)")
    #expect(ssh.stdout.contains("installer"), "\(ssh)")
    let destroy = try h.caravan("destroy", "-f", in: h.root + "/project")
    #expect(destroy.status == 0, "\(destroy)")
  }
}

/// The second half of `caravan build` for real (the first is `BuildEndToEndTests`, whose
/// helpers it uses): kickstart injection and a build timeout, the iso strategy, bad input.
@Suite(
  .guestSlot(minutes: 5), .serialized, .buildFixturesMade)
struct BuildISOEndToEndTests {
  /// Kickstart-style injection (`inst.ks=file:/ks.cfg`), and an installer that never powers
  /// off: the build's timeout ends it, names the console log, and leaves no VM, no box.
  @Test func kickstartInjectionAndAnInstallerThatNeverPowersOff() throws {
    let h = try Harness(name: "build-timeout")
    defer { h.cleanUp() }
    try h.write(
      "# kickstart style, no root file system: the installer fails and hangs\nhostname {{ hostname }}\npoweroff no\n",
      to: "ks/ks.tmpl")
    try h.write(
      """
      build "test/hang", version: "1.0" {
        strategy installer
        from kernel: "\(BuildEndToEndTests.fixtures)/vmlinuz", initrd: "\(BuildEndToEndTests.fixtures)/initrd.gz"
        template "ks.tmpl", as: "ks.cfg"
        kernel_args "inst.ks=file:/ks.cfg"
        memory 512MiB
        disk 1GiB
        output "out/hang.box"
        timeout 60s
      }
      """, to: "ks/Boxfile")
    let build = try h.caravan("build", "ks/Boxfile", in: h.root)
    #expect(build.status == 1, "\(build)")
    #expect(
      build.stderr.contains("ran out of its timeout (60 s) while waiting for the install to power off"), "\(build)")
    let log = BuildEndToEndTests.consoleLog(of: build.stderr)
    #expect(log != nil, "the error names the console log: \(build)")
    if let log {
      let console = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      #expect(console.contains("installer: answer file /ks.cfg read"), "\(console.suffix(3000))")
      #expect(console.contains("installer: answer: hostname hang"), "\(console.suffix(3000))")
    }
    #expect(!FileManager.default.fileExists(atPath: h.root + "/ks/out/hang.box"))
    #expect(try BuildEndToEndTests.vmGone(build.stdout), "\(build)")

    let boxfile = try String(contentsOfFile: h.root + "/ks/Boxfile", encoding: .utf8)
    // A build killed with SIGKILL while its VM runs: the next build (of any Boxfile) removes that
    // VM and its work folder, since no build holds the lock the VM recorded.
    try h.write(boxfile.replacingOccurrences(of: "timeout 60s", with: "timeout 10m"), to: "killed/Boxfile")
    try h.write("poweroff no\n", to: "killed/ks.tmpl")
    let killedPath = h.root + "/killed.log"
    let killed = try h.spawn(["build", "killed"], in: h.root, log: killedPath)
    var victim: String?
    for _ in 0..<120 where victim == nil {
      Thread.sleep(forTimeInterval: 1)
      let text = (try? String(contentsOfFile: killedPath, encoding: .utf8)) ?? ""
      if text.contains("booting the installer kernel") { victim = BuildEndToEndTests.buildVM(of: text) }
    }
    // Killed once its VM runs (the line comes just before libvirt starts it: a kill during
    // that call may leave libvirt finishing the start after the next build has looked).
    for _ in 0..<60 {
      guard let victim, try !Harness.virsh("domstate", victim).stdout.contains("running") else { break }
      Thread.sleep(forTimeInterval: 1)
    }
    kill(killed.processIdentifier, SIGKILL)
    killed.waitUntilExit()
    let killedLog = (try? String(contentsOfFile: killedPath, encoding: .utf8)) ?? ""
    let killedWork = killedLog.range(of: #"/var/tmp/caravan-build\.[A-Za-z0-9]+"#, options: .regularExpression)
      .map { String(killedLog[$0]) }
    #expect(victim != nil && killedWork != nil, "\(killedLog)")
    // --on-error keep: the same failure leaves the VM running and says how to reach and remove it.
    try h.write(boxfile.replacingOccurrences(of: "timeout 60s", with: "timeout 40s"), to: "keep/Boxfile")
    try h.write("poweroff no\n", to: "keep/ks.tmpl")
    let kept = try h.caravan("build", "keep", "--on-error", "keep", in: h.root)
    #expect(kept.status == 1 && kept.stderr.contains("ran out of its timeout (40 s)"), "\(kept)")
    let name = BuildEndToEndTests.buildVM(of: kept.stdout) ?? "?"
    #expect(
      kept.stdout.contains("is left running (--on-error keep): `virsh -c qemu:///system console \(name)`"), "\(kept)")
    #expect(try Harness.virsh("domstate", name).stdout.contains("running"), "\(kept)")
    if let victim, let killedWork {
      // This build, or one of another suite running meanwhile, removed it.
      #expect(!(try BuildEndToEndTests.buildDomains().contains(victim)))
      #expect(!FileManager.default.fileExists(atPath: killedWork))
    }
    _ = try Harness.virsh("destroy", name)
    _ = try Harness.virsh("undefine", name)
    if let range = kept.stdout.range(of: #"/var/tmp/caravan-build\.[A-Za-z0-9]+"#, options: .regularExpression) {
      try? FileManager.default.removeItem(atPath: String(kept.stdout[range]))
    }
  }

  /// The iso strategy: the ISO boots to isolinux's `boot:` prompt, Caravan types the boot
  /// line (with `${http_ip}:${http_port}`) and then keys that the installer records from
  /// the keyboard: special keys, a held Ctrl, `<waitN>`, a shifted letter and `<<`. The
  /// install takes its answers over HTTP; the failing postinstall step is named with its
  /// exit status and last lines, and nothing is left.
  @Test func isoStrategyTypesTheBootCommandExactly() throws {
    let h = try Harness(name: "build-iso")
    defer { h.cleanUp() }
    try h.write(
      "rootfs http://{{ http_ip }}:{{ http_port }}/rootfs.tar\nhostname {{ hostname }}\npoweroff yes\n",
      to: "iso/answers.tmpl")
    try h.write(
      """
      build "test/iso", version: "1.0" {
        strategy iso
        from iso: "\(BuildEndToEndTests.fixtures)/installer.iso"
        template "answers.tmpl", as: "answers.txt"
        http_dir "\(BuildEndToEndTests.fixtures)"
        boot_wait 8s
        boot_command [
          "mini keytest=10 url=http://${http_ip}:${http_port}/answers.txt<enter>",
          "<wait50><tab><f5><leftCtrlOn>c<leftCtrlOff><wait3>A<<<spacebar><enter>"
        ]
        memory 1GiB
        disk 3GiB
        postinstall shell, name: "breaks", inline: "echo first line; echo the last words >&2; exit 3"
        output "out/iso.box"
        timeout 20m
      }
      """, to: "iso/Boxfile")
    let build = try h.caravan("build", "iso", in: h.root)
    #expect(build.status == 1, "\(build)")
    #expect(build.stderr.contains("postinstall step 'breaks' (inline script) failed with exit status 3"), "\(build)")
    #expect(build.stderr.contains("the last words"), "\(build)")
    #expect(!FileManager.default.fileExists(atPath: h.root + "/iso/out/iso.box"))
    #expect(try BuildEndToEndTests.vmGone(build.stdout), "\(build)")
    guard let portText = build.stdout.range(of: #"on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
      let log = BuildEndToEndTests.consoleLog(of: build.stdout + build.stderr)
    else {
      Issue.record("no HTTP port or console log in the output: \(build)")
      return
    }
    let port = build.stdout[portText].split(separator: ":").last.map(String.init) ?? "?"
    let console = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(console.contains("url=http://10.0.2.2:\(port)/answers.txt"), "\(console.suffix(4000))")
    #expect(build.stdout.contains("http: GET /answers.txt 200"), "\(build)")
    // The key presses, as the guest's keyboard driver saw them (value 1 = press).
    // Serial lines end in "\r\n", one Character in Swift: split on every newline kind.
    let presses = console.split(whereSeparator: \.isNewline).compactMap { line -> (code: Int, time: Double)? in
      guard let range = line.range(of: "installer: key ") else { return nil }
      let fields = line[range.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\r" })
      guard fields.count >= 3, fields[1] == "1", let code = Int(fields[0]), let time = Double(fields[2]) else {
        return nil
      }
      return (code, time)
    }
    // tab, F5, leftCtrl+c, (3 s), leftShift+a, leftShift+comma, space, enter.
    #expect(presses.map(\.code) == [15, 63, 29, 46, 42, 30, 42, 51, 57, 28], "\(console.suffix(4000))")
    if presses.count == 10 {
      #expect(presses[4].time - presses[3].time >= 2.9, "<wait3> between c and A: \(presses)")
    }
  }

  /// Bad input builds nothing: an unknown template placeholder (file, line, column, exit 65),
  /// a wrong `from` checksum (nothing cached either), a boot_command with an unknown key (exit 65).
  @Test func badInputBuildsNothingAndLeavesNothing() throws {
    let h = try Harness(name: "build-bad")
    defer { h.cleanUp() }
    let kernel = "\(BuildEndToEndTests.fixtures)/vmlinuz"
    try h.write("line one\nuser {{ user }} pass {{ pasword }}\n", to: "t/answers.cfg")
    try h.write(
      """
      build "test/bad", version: "1.0" {
        strategy installer
        from kernel: "\(kernel)", initrd: "\(BuildEndToEndTests.fixtures)/initrd.gz"
        template "answers.cfg"
        ssh { user "vagrant"; password "vagrant" }
        output "out/bad.box"
      }
      """, to: "t/Boxfile")
    let template = try h.caravan("build", "t", in: h.root)
    #expect(template.status == 65, "\(template)")
    #expect(
      template.stderr.contains("t/answers.cfg:2:22: error: unknown placeholder '{{ pasword }}'"), "\(template)")

    // A URL whose checksum is wrong: refused after the download, not cached.
    let served = h.root + "/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    try "not a kernel".write(toFile: served + "/vmlinuz", atomically: true, encoding: .utf8)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    let wrong = String(repeating: "0", count: 64)
    try h.write(
      """
      build "test/bad", version: "1.0" {
        strategy installer
        from kernel: "\(server.base)/vmlinuz", initrd: "\(BuildEndToEndTests.fixtures)/initrd.gz",
             checksum: {kernel: "sha256:\(wrong)"}
        output "out/bad.box"
      }
      """, to: "c/Boxfile")
    let checksum = try h.caravan("build", "c", in: h.root)
    #expect(checksum.status == 1 && checksum.stderr.contains("checksum mismatch for kernel"), "\(checksum)")
    let cached = try h.run(["find", h.home + "/cache", "-type", "f"]).stdout
    #expect(cached.isEmpty, "nothing cached: \(cached)")

    try h.write(
      """
      build "test/bad", version: "1.0" {
        strategy iso
        from iso: "\(BuildEndToEndTests.fixtures)/installer.iso"
        boot_command ["<esc><wait>install<entr>"]
        output "out/bad.box"
      }
      """, to: "k/Boxfile")
    let keys = try h.caravan("build", "k", in: h.root)
    #expect(
      keys.status == 65 && keys.stderr.contains("k/Boxfile:4:36: error: boot_command: unknown key '<entr>'"), "\(keys)")
    #expect(keys.stderr.contains("did you mean '<enter>'"), "\(keys)")
    for folder in ["t", "c", "k"] {
      #expect(!FileManager.default.fileExists(atPath: h.root + "/\(folder)/out/bad.box"))
    }
    for output in [template, checksum, keys] {
      #expect(try BuildEndToEndTests.vmGone(output.stdout), "\(output)")
    }
  }
}
