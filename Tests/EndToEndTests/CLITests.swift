import Foundation
import Testing

/// The real binary on Machinefiles, no guest needed: validate, init, discovery,
/// and refusal of an invalid file before anything is touched.
@Suite(.ownThreads, .enabled(if: !Harness.binary.isEmpty, "needs CARAVAN_BIN (run `make test`)"))
struct CLITests {
  @Test func validateReportsEveryProblemAtOnceWithExit65() throws {
    let h = try Harness(name: "validate")
    defer { h.cleanUp() }
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      machine "web" {
        memroy 2GiB
        cpus 0
      }
      """, to: "p/Machinefile")
    let out = try h.caravan("validate", in: h.root + "/p")
    #expect(out.status == 65, "\(out)")
    #expect(
      out.stderr.contains(
        """
        Machinefile:4:3: error: unknown setting 'memroy' in machine "web"; did you mean 'memory'?
          memroy 2GiB
          ^~~~~~
        """), "\(out)")
    #expect(out.stderr.contains("Machinefile:5:8: error: 'cpus' must be between 1 and 1024, got 0"), "\(out)")

    let json = try h.caravan("validate", "--json", in: h.root + "/p")
    #expect(json.status == 65)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["valid"] as? Bool == false)
    #expect((object["diagnostics"] as? [[String: Any]])?.map { $0["line"] as? Int } == [4, 5])
  }

  /// `validate --json` lists what `up` would name as not supported yet, from the
  /// same declarations, and docs/machinefile.md's list says the same.
  @Test func unsupportedSettingsAreListedByValidateAndTheReadme() throws {
    let h = try Harness(name: "unsupported")
    defer { h.cleanUp() }
    let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let everySetting = tests.appendingPathComponent("MachinefileTests/Golden/all_settings.machinefile").path
    let out = try h.run(
      [Harness.binary, "validate", "--json", everySetting], environment: ["BOX_URL": "https://example.com/b.box"])
    #expect(out.status == 0, "\(out)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
    let rows = try #require(object["unsupported"] as? [[String: Any]])
    let listed = Set(rows.compactMap { $0["setting"] as? String })
    // Every setting of the language is acted on now (disk, volume, cloud_init, firmware,
    // secure_boot, tpm and graphics were the last).
    #expect(listed.isEmpty, "settings named as not supported yet: \(listed)")
    #expect(rows.allSatisfy { ($0["line"] as? Int ?? 0) > 0 }, "each with its line")

    let readme = try String(
      contentsOf: tests.deletingLastPathComponent().appendingPathComponent("docs/machinefile.md"), encoding: .utf8)
    let sentence = try #require(readme.range(of: "Not supported yet: ").map { readme[$0.upperBound...] })
    let end = try #require(sentence.range(of: #"\.(\s|$)"#, options: .regularExpression)?.lowerBound)
    let named = Set(
      sentence[..<end].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter {
        $0.offset % 2 == 1
      }.map { String($0.element) })
    #expect(
      named == listed, "docs/machinefile.md's list of unsupported settings differs from what validate --json says")
  }

  /// A Boxfile's boot_command keys and its templates' placeholders are checked by `validate`,
  /// and by `build` before anything starts, in the compiler form, with exit 65.
  @Test func boxfileMistakesAreFoundByValidateAndBeforeABuildStarts() throws {
    let h = try Harness(name: "boxfile-static")
    defer { h.cleanUp() }
    try h.write(
      """
      version 1
      build "test/bad", version: "1.0" {
        strategy iso
        from iso: "/nonexistent/installer.iso"
        ssh { user "vagrant"; password "vagrant" }
        boot_command ["<esc><wait>", "install\\tauto=true <entr>"]
        output "out/bad.box"
      }
      """, to: "k/Boxfile")
    try h.write("line one\n\nuser {{ user }} pass {{ pasword }}\n", to: "t/bad.cfg")
    try h.write(
      """
      build "test/bad", version: "1.0" {
        strategy installer
        from kernel: "/nonexistent/vmlinuz", initrd: "/nonexistent/initrd.gz"
        template "bad.cfg"
        ssh { user "vagrant"; password "vagrant" }
        output "out/bad.box"
      }
      """, to: "t/Boxfile")
    let key = [
      "k/Boxfile:6:52: error: boot_command: unknown key '<entr>'; did you mean '<enter>'?",
      #"  boot_command ["<esc><wait>", "install\tauto=true <entr>"]"#,
      String(repeating: " ", count: 51) + "^~~~~~",
    ].joined(separator: "\n")
    let placeholder = [
      "t/bad.cfg:3:22: error: unknown placeholder '{{ pasword }}'; did you mean '{{ password }}'?",
      "user {{ user }} pass {{ pasword }}", String(repeating: " ", count: 21) + "^~~~~~~~~~~~~",
    ].joined(separator: "\n")
    // An unreachable libvirt proves the build never started.
    let nowhere = ["CARAVAN_LIBVIRT_URI": "qemu:///system?socket=/nonexistent"]
    for (folder, expected) in [("k", key), ("t", placeholder)] {
      let validate = try h.caravan("validate", folder + "/Boxfile", in: h.root)
      #expect(validate.status == 65 && validate.stderr.contains(expected), "\(validate)")
      let build = try h.caravan("build", folder, in: h.root, environment: nowhere)
      #expect(build.status == 65 && build.stderr.contains(expected), "\(build)")
      #expect(build.stdout.isEmpty, "nothing started: \(build)")
      #expect(!FileManager.default.fileExists(atPath: h.root + "/\(folder)/out"))
    }
    let json = try h.caravan("validate", "--json", "t/Boxfile", in: h.root)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let rows = try #require(object["diagnostics"] as? [[String: Any]])
    #expect(json.status == 65 && rows.first?["file"] as? String == "t/bad.cfg" && rows.first?["line"] as? Int == 3)
  }

  /// A stray byte that is not UTF-8 is a diagnostic at its line and column, for every command.
  @Test func aByteThatIsNotUTF8IsReportedAtItsPlace() throws {
    let h = try Harness(name: "utf8")
    defer { h.cleanUp() }
    try FileManager.default.createDirectory(atPath: h.root + "/p", withIntermediateDirectories: true)
    let bytes = Array("version 1\nbox \"caravan/debian-12\" # caf".utf8) + [0xE9] + Array("\n".utf8)
    #expect(FileManager.default.createFile(atPath: h.root + "/p/Machinefile", contents: Data(bytes)))
    for command in [["validate"], ["up"], ["status"]] {
      let out = try h.run(
        [Harness.binary] + command, in: h.root + "/p",
        environment: ["CARAVAN_LIBVIRT_URI": "qemu:///system?socket=/nonexistent"])
      #expect(out.status == 65, "\(command): \(out)")
      #expect(out.stderr.hasPrefix("Machinefile:2:30: error: byte 0xE9 is not valid UTF-8"), "\(command): \(out)")
    }
  }

  @Test func everyCommandRefusesAnInvalidMachinefileBeforeTouchingAnything() throws {
    let h = try Harness(name: "refuse")
    defer { h.cleanUp() }
    try h.write("version 2\n", to: "p/Machinefile")
    for command in [["up"], ["status"], ["halt"], ["destroy", "-f"], ["ssh", "-c", "true"], ["provision"]] {
      // An unreachable URI proves libvirt is never asked.
      let out = try h.run(
        [Harness.binary] + command, in: h.root + "/p",
        environment: ["CARAVAN_LIBVIRT_URI": "qemu:///system?socket=/nonexistent"])
      #expect(out.status == 65, "\(command): \(out)")
      #expect(out.stderr.contains("Machinefile:1:"), "\(command): \(out)")
      #expect(!out.stderr.contains("cannot connect"), "\(command): \(out)")
    }
    #expect(!FileManager.default.fileExists(atPath: h.root + "/p/.caravan"))
  }

  @Test func initWritesAFileThatValidatesAndDoesNotOverwrite() throws {
    let h = try Harness(name: "init")
    defer { h.cleanUp() }
    let dir = h.root + "/new"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    #expect(try h.caravan("init", "my/box", in: dir).status == 0)
    let text = try String(contentsOfFile: dir + "/Machinefile", encoding: .utf8)
    #expect(text.contains("box \"my/box\""))
    #expect(text.contains("#"))
    let valid = try h.caravan("validate", in: dir)
    #expect(valid.status == 0 && valid.stdout.contains("valid, 1 machine (default)"), "\(valid)")
    let again = try h.caravan("init", in: dir)
    #expect(
      again.status == 1 && again.stderr.contains("already exists") && again.stderr.contains("--force"), "\(again)")
    #expect(try h.caravan("init", "--minimal", "--force", in: dir).status == 0)
    #expect(try !String(contentsOfFile: dir + "/Machinefile", encoding: .utf8).contains("#"))
  }

  /// `init --image NAME`: a Machinefile on an index image, with `disk` (a cloud image's
  /// root disk is small) and cloud-init's place; a name the index lacks lists its names.
  @Test func initWithAnImageWritesACloudImageMachinefile() throws {
    let h = try Harness(name: "init-image")
    defer { h.cleanUp() }
    let dir = h.root + "/img"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let out = try h.caravan("init", "--image", "debian/12", in: dir)
    #expect(out.status == 0, "\(out)")
    let text = try String(contentsOfFile: dir + "/Machinefile", encoding: .utf8)
    #expect(text.contains("box \"debian/12\"") && text.contains("\ndisk 20GiB") && text.contains("# cloud_init"))
    let valid = try h.caravan("validate", in: dir)
    #expect(valid.status == 0 && valid.stdout.contains("valid, 1 machine (default)"), "\(valid)")
    let unknown = try h.caravan("init", "--image", "debian/99", "--force", in: dir)
    #expect(unknown.status == 1 && unknown.stderr.contains("'debian/99' is not in the image index"), "\(unknown)")
    #expect(unknown.stderr.contains("debian/12, debian/13, ubuntu/24.04"), "\(unknown)")
    let both = try h.caravan("init", "--image", "debian/12", "my/box", in: dir)
    #expect(both.status == 64 && both.stderr.contains("one argument too many"), "\(both)")
  }

  /// `init --from Vagrantfile` on the real binary with the host's ruby: the exit status
  /// says whether something was left out, the report is on standard error, and an
  /// existing Machinefile is kept unless --force.
  @Test func initFromAVagrantfileWritesAMachinefileBesideIt() throws {
    let h = try Harness(name: "init-from")
    defer { h.cleanUp() }
    try h.write(
      """
      Vagrant.configure("2") do |config|
        config.vm.box = "generic/debian12"
        config.hostmanager.enabled = true
        (1..2).each do |i|
          config.vm.define "node#{i}" do |node|
            node.vm.network "private_network", ip: "10.30.0.#{10 + i}"
          end
        end
      end
      """, to: "p/Vagrantfile")
    let out = try h.caravan("init", "--from", "Vagrantfile", "p", in: h.root)
    #expect(out.status == 2, "\(out)")
    #expect(out.stdout.contains("wrote p/Machinefile from p/Vagrantfile: 2 machines (node-1, node-2)"), "\(out)")
    #expect(
      out.stderr.contains("p/Vagrantfile:3: config.hostmanager.enabled, a setting of the Vagrant plugin"), "\(out)")
    let text = try String(contentsOfFile: h.root + "/p/Machinefile", encoding: .utf8)
    #expect(text.contains("# Vagrantfile:3: config.hostmanager.enabled"))
    #expect(text.contains("machine \"node\", count: 2 {"))
    #expect(try h.caravan("validate", in: h.root + "/p").status == 0)
    let again = try h.caravan("init", "--from", "p/Vagrantfile", in: h.root)
    #expect(
      again.status == 1 && again.stderr.contains("already exists") && again.stderr.contains("--force"), "\(again)")
    #expect(try h.caravan("init", "--from", "Vagrantfile", "--force", in: h.root + "/p").status == 2)
    #expect(try h.caravan("init", "--from", "Vagrantfile", "--minimal", in: h.root + "/p").status == 64)
  }

  @Test func machinefileIsFoundInParentsOrThroughTheEnvironment() throws {
    let h = try Harness(name: "find")
    defer { h.cleanUp() }
    try h.write("machine \"up-here\" {}\n", to: "p/Machinefile")
    try h.write("machine \"elsewhere\" {}\n", to: "other/Custom")
    let deep = h.root + "/p/a/b"
    try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
    let found = try h.caravan("validate", in: deep)
    #expect(found.stdout.contains("up-here"), "\(found)")
    let named = try h.caravan("validate", in: deep, environment: ["CARAVAN_MACHINEFILE": h.root + "/other/Custom"])
    #expect(named.stdout.contains("elsewhere"), "\(named)")
    let none = try h.caravan("status", in: h.root)
    #expect(none.status == 1 && none.stderr.contains("no Machinefile"), "\(none)")
  }
}

/// `Machinefile.lock` through the real binary, booting nothing: `caravan lock` writes it
/// (the same text the second time), `validate` reads it and names a broken line, and
/// `up --locked` (or CARAVAN_LOCKED=1) refuses a missing lock, a box line it does not
/// match and a replaced image, exit 65, before anything is made.
@Suite(.ownThreads, .enabled(if: Harness.enabled, "needs CARAVAN_BIN and libvirt (run `make test`)"))
struct LockFileCLITests {
  @Test func lockWritesAStableFileAndLockedRefusesWhatDiffers() throws {
    let h = try Harness(name: "lockfile")
    defer { h.cleanUp() }
    let box = h.root + "/one.box"
    func makeBox(_ path: String, _ content: String) throws {
      try h.write(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#, to: "staging/metadata.json")
      try h.write(content, to: "staging/box.img")
      let tar = try h.run(["tar", "-cf", path, "-C", h.root + "/staging", "metadata.json", "box.img"])
      try #require(tar.status == 0, "\(tar)")
    }
    try makeBox(box, "first image")
    try h.write("box \"test/lockbox\", url: \"../one.box\"\n", to: "p/Machinefile")
    let project = h.root + "/p"
    let lockPath = project + "/Machinefile.lock"

    let missing = try h.run([Harness.binary, "up", "--locked"], in: project)
    #expect(missing.status == 65, "\(missing)")
    #expect(missing.stderr.contains("has no Machinefile.lock beside it"), "\(missing)")
    #expect(try h.run([Harness.binary, "up"], in: project, environment: ["CARAVAN_LOCKED": "1"]).status == 65)
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"), "nothing was made")

    let lock = try h.caravan("lock", in: project)
    #expect(lock.status == 0, "\(lock)")
    #expect(lock.stdout.contains("Machinefile.lock: box 'test/lockbox' 0 (file \(box)) added"), "\(lock)")
    let text = try String(contentsOfFile: lockPath, encoding: .utf8)
    #expect(text.contains("\"kind\": \"file\"") && text.hasSuffix("}\n"), "\(text)")
    let again = try h.caravan("lock", in: project)
    #expect(again.stdout.contains("Machinefile.lock: up to date"), "\(again)")
    let json = try h.caravan("lock", "--json", in: project)
    let parsed = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any]
    #expect(parsed?["lock"] as? String == lockPath && (parsed?["changes"] as? [String])?.isEmpty == true, "\(json)")
    #expect(try String(contentsOfFile: lockPath, encoding: .utf8) == text, "a second run writes the same text")
    let valid = try h.caravan("validate", in: project)
    #expect(valid.status == 0, "\(valid)")

    // The installed image is replaced: `up --locked` names both digests and makes nothing.
    let other = h.root + "/two.box"
    try makeBox(other, "second image")
    let force = try h.caravan(
      "box", "add", "test/lockbox", other, "--box-version", "0", "--force", in: h.root)
    #expect(force.status == 0, "\(force)")
    let changed = try h.run([Harness.binary, "up", "--locked"], in: project)
    #expect(changed.status == 65, "\(changed)")
    #expect(changed.stderr.contains("box 'test/lockbox' (0) differs from Machinefile.lock"), "\(changed)")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"), "nothing was made")
    let update = try h.caravan("lock", "--update", in: project)
    #expect(update.stdout.contains("digests changed"), "\(update)")

    // A box line the lock does not match.
    try h.write("box \"test/lockbox\", url: \"../two.box\"\n", to: "p/Machinefile")
    let moved = try h.run([Harness.binary, "up", "--locked"], in: project)
    #expect(moved.status == 65 && moved.stderr.contains("comes from '../two.box' in the Machinefile"), "\(moved)")

    // A broken lock: validate names its line and column.
    try text.replacingOccurrences(of: "\"version\": \"0\"", with: "\"version\": 0,,").write(
      toFile: lockPath, atomically: true, encoding: .utf8)
    let broken = try h.caravan("validate", in: project)
    #expect(broken.status == 65, "\(broken)")
    #expect(broken.stderr.contains("Machinefile.lock:"), "\(broken)")
  }
}

/// `caravan help exit-codes` lists the statuses a CI script branches on, and they are the
/// ones the binary gives.
@Suite(.ownThreads, .enabled(if: !Harness.binary.isEmpty, "needs CARAVAN_BIN (run `make test`)"))
struct ExitCodesCLITests {
  @Test func theTableNamesTheStatusesTheBinaryGives() throws {
    let h = try Harness(name: "exitcodes")
    defer { h.cleanUp() }
    let help = try h.caravan("help", "exit-codes", in: h.root)
    #expect(help.status == 0, "\(help)")
    for line in [
      "0    success", "1    a command failed", "64   a command line", "65   an invalid Machinefile", "130  interrupted",
    ] {
      #expect(help.stdout.contains(line), "\(line): \(help)")
    }
    #expect(try h.caravan("up", "--no-such-flag", in: h.root).status == 64)
    try h.write("version 2\n", to: "p/Machinefile")
    #expect(try h.caravan("validate", in: h.root + "/p").status == 65)
  }
}
