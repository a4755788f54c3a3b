import Foundation
import Testing

/// `caravan doctor` on this machine, each bad condition made for real but only
/// where doctor sees it: a private mount namespace (no libvirtd socket, a
/// root-only /dev/kvm node) or a tiny loop-mounted file system. The main
/// namespace's libvirtd and the real /dev/kvm are never touched.
@Suite(
  .ownThreads, .serialized,
  .enabled(if: !Harness.binary.isEmpty && getuid() == 0, "needs CARAVAN_BIN and root (run `make test`)"))
struct DoctorEndToEndTests {
  struct Report {
    var status: Int32
    var checks: [String: (status: String, summary: String, fix: String?)]
    var output: Harness.Output
  }

  /// Runs `caravan doctor --json` (inside `namespaceSetup`, a shell script run
  /// in a private mount namespace, when given) and reads its checks.
  func doctor(_ h: Harness, namespaceSetup: String? = nil, environment: [String: String] = [:]) throws -> Report {
    let out = try run(h, ["doctor", "--json"], namespaceSetup: namespaceSetup, environment: environment)
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out)")
    let rows = try #require(object["checks"] as? [[String: Any]], "\(out)")
    var checks: [String: (status: String, summary: String, fix: String?)] = [:]
    for row in rows {
      let id = try #require(row["id"] as? String)
      checks[id] = (row["status"] as? String ?? "", row["summary"] as? String ?? "", row["fix"] as? String)
    }
    #expect((object["ok"] as? Bool) == (out.status == 0), "\(out)")
    return Report(status: out.status, checks: checks, output: out)
  }

  func run(_ h: Harness, _ args: [String], namespaceSetup: String? = nil, environment: [String: String] = [:]) throws
    -> Harness.Output
  {
    guard let namespaceSetup else { return try h.run([Harness.binary] + args, environment: environment) }
    // The script's own arguments: $0 is sh, then the command to exec at its end.
    let script = "set -e\n\(namespaceSetup)\nexec \"$@\""
    return try h.run(
      ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", Harness.binary] + args,
      environment: environment)
  }

  @Test func thisMachinesKVMIsKVMPVMAndTheTextMatchesTheJSON() throws {
    let h = try Harness(name: "doctor-json")
    defer { h.cleanUp() }
    let report = try doctor(h)
    #expect(report.checks["libvirt"]?.status == "ok", "\(report.output)")
    #expect(report.checks["versions"]?.summary.hasPrefix("libvirt ") == true, "\(report.output)")
    let kvm = try #require(report.checks["kvm"])
    if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") {
      #expect(kvm.status == "warning", "\(report.output)")
      #expect(kvm.summary.contains("kvm_pvm (/sys/module/kvm_pvm)"), "\(report.output)")
      #expect(kvm.summary.contains("software emulation (TCG)"), "\(report.output)")
    } else {
      #expect(!kvm.summary.contains("kvm_pvm"), "\(report.output)")
    }
    #expect(report.checks["ssh"]?.status == "ok", "\(report.output)")
    #expect(report.checks["disk_home"]?.status != "error", "\(report.output)")
    let errors = report.checks.filter { $0.value.status == "error" }
    #expect(report.status == (errors.isEmpty ? 0 : 1), "\(report.output)")

    // The text form: one line per check, `STATUS  ID  SUMMARY`, the same ids and statuses.
    let text = try run(h, ["doctor"])
    #expect(text.status == report.status, "\(text)")
    var fromText: [String: String] = [:]
    for line in text.stdout.split(separator: "\n") {
      let words = line.split(separator: " ", maxSplits: 2)
      guard words.count >= 2, ["ok", "warning", "error", "skipped"].contains(String(words[0])) else { continue }
      fromText[String(words[1])] = String(words[0])
    }
    #expect(fromText == report.checks.mapValues(\.status), "\(text)")
    #expect(text.stdout.contains("caravan doctor: libvirt URI 'qemu:///system' (from CARAVAN_LIBVIRT_URI)"), "\(text)")
  }

  @Test func noLibvirtdAnsweringIsAnErrorWithHowToStartIt() throws {
    let h = try Harness(name: "doctor-nolibvirtd")
    defer { h.cleanUp() }
    // A private, empty /run/libvirt: no daemon's socket is there; the real one runs on.
    let report = try doctor(h, namespaceSetup: "mkdir -p /run/libvirt\nmount -t tmpfs tmpfs /run/libvirt")
    #expect(report.status != 0, "\(report.output)")
    let libvirt = try #require(report.checks["libvirt"])
    #expect(libvirt.status == "error", "\(report.output)")
    #expect(libvirt.summary.contains("cannot connect to libvirt at 'qemu:///system'"), "\(report.output)")
    #expect(libvirt.fix?.contains("systemctl start libvirtd") == true, "\(report.output)")
    #expect(libvirt.fix?.contains("libvirtd -d") == true, "\(report.output)")
    for id in ["storage_pool", "versions", "disk_pool"] {
      #expect(report.checks[id]?.status == "skipped", "\(id): \(report.output)")
    }
    // The real daemon was not disturbed.
    #expect(try Harness.virsh("uri").status == 0)
  }

  @Test func rootOnlyDevKVMWarnsOfTheSlowDefine() throws {
    let h = try Harness(name: "doctor-kvm0600")
    defer { h.cleanUp() }
    // A node like /dev/kvm (10,232), root:root 0600, over /dev/kvm in this namespace only.
    let node = h.root + "/kvm"
    let report = try doctor(
      h,
      namespaceSetup: """
        mknod '\(node)' c 10 232
        chmod 0600 '\(node)'
        chown root:root '\(node)'
        mount --bind '\(node)' /dev/kvm
        """)
    let device = try #require(report.checks["kvm_device"])
    #expect(device.status == "warning", "\(report.output)")
    #expect(
      device.summary.hasPrefix("/dev/kvm is root:root 0600 and libvirt's QEMU user libvirt-qemu cannot open it"),
      "\(report.output)")
    #expect(device.summary.contains("takes about 48 s"), "\(report.output)")
    #expect(device.fix?.contains("chown root:kvm /dev/kvm; chmod 0660 /dev/kvm") == true, "\(report.output)")
    #expect(device.fix?.contains("udev") == true, "\(report.output)")
    // A warning, not an error: doctor exits 0 when nothing else is wrong.
    let errors = report.checks.filter { $0.value.status == "error" }
    #expect(report.status == (errors.isEmpty ? 0 : 1), "\(report.output)")
    // Outside the namespace /dev/kvm is as it was.
    let real = try FileManager.default.attributesOfItem(atPath: "/dev/kvm")
    #expect((real[.posixPermissions] as? Int) != 0o600)
  }

  @Test func aFullCaravanHomeIsAnError() throws {
    let h = try Harness(name: "doctor-fullhome")
    defer { h.cleanUp() }
    let image = h.root + "/small.img"
    let mountPoint = h.root + "/mnt"
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    func shell(_ command: String) throws -> Harness.Output {
      try Harness.exec(["sh", "-c", command], in: h.root, environment: ProcessInfo.processInfo.environment)
    }
    #expect(try shell("truncate -s 4M '\(image)' && mkfs.ext4 -q -F '\(image)'").status == 0)
    let attach = try shell("losetup -f --show '\(image)'")
    let loop = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try #require(attach.status == 0 && loop.hasPrefix("/dev/loop"), "\(attach)")
    defer { _ = try? shell("losetup -d '\(loop)'") }
    try #require(try shell("mount '\(loop)' '\(mountPoint)'").status == 0)
    defer { _ = try? shell("umount '\(mountPoint)'") }
    // Fill it: dd stops with "No space left on device".
    _ = try shell("dd if=/dev/zero of='\(mountPoint)/fill' bs=64k 2>/dev/null; sync")

    let home = mountPoint + "/caravan"
    let report = try doctor(h, environment: ["CARAVAN_HOME": home])
    #expect(report.status != 0, "\(report.output)")
    let disk = try #require(report.checks["disk_home"])
    #expect(disk.status == "error", "\(report.output)")
    #expect(disk.summary.hasPrefix("CARAVAN_HOME (\(home)) has "), "\(report.output)")
    #expect(disk.summary.contains("error below 1.0 GiB"), "\(report.output)")
    #expect(disk.fix?.contains("set CARAVAN_HOME to a folder on a larger file system") == true, "\(report.output)")
  }
}
