import Foundation
import TestSupport
import Testing

/// A distribution's cloud image as a box (issue 24), on the genericcloud-like image the
/// test makes itself (scripts/cloud-image.sh: mmdebstrap with cloud-init and
/// cloud-guest-utils, GPT with BIOS boot, EFI and ext4 root partitions, GRUB for both, no
/// users and no keys), served with its SHA512SUMS on 127.0.0.1 under Debian's path layout and
/// named `debian/12` by a test image index.
///
/// Root on qemu:///system: `box add debian/12`, an `up` killed after its domain, seed, volume
/// and grown disk were made (one `destroy -f` leaves nothing), `up`s killed while cloud-init
/// is waited for and while the root file system is grown (the next `up` finishes it), then
/// the machine: the user's cloud-config's file, `/` grown to `disk 8GiB`, the volume by its
/// serial, its VNC display on 127.0.0.1, halt/up with the same instance, `destroy -f`
/// leaving no domain, overlay, seed or volume. A normal user on its qemu:///session: two
/// UEFI machines with a TPM each, two NVRAM files, removed by `destroy`. Another: two
/// machines restored from the image box's warm state, each with its own key, hostname and
/// instance id.
@Suite(
  .guestSlots(2, minutes: 6), .serialized,
  .enabled(
    if: Harness.enabled && Harness.cloudImageFolder != nil && getuid() == 0,
    "needs root, CARAVAN_BIN, CARAVAN_E2E_BOX and CARAVAN_E2E_CLOUD_IMAGE (run `make test`)"))
struct CloudImageEndToEnd {
  /// The image folder served on 127.0.0.1, and the test index (its `PORT` filled in) at `index`.
  static func serve(writingIndexTo index: String) throws -> BoxServer {
    let folder = try #require(Harness.cloudImageFolder)
    // The image and its checksum file are links into scripts/cloud-image.sh's cache, and the
    // box server serves nothing outside its folder: it serves the cache's.
    let layout = "/images/cloud/bookworm/latest/SHA512SUMS"
    let served = String((folder + layout as NSString).resolvingSymlinksInPath.dropLast(layout.count))
    let server = try BoxServer(root: served)
    let template = try String(contentsOfFile: folder + "/index.json", encoding: .utf8)
    try template.replacingOccurrences(of: "PORT", with: String(server.port))
      .write(toFile: index, atomically: true, encoding: .utf8)
    return server
  }

  /// The image served for a normal user: the index in its home, and the environment naming it.
  static func serve(for user: UserRunner) throws -> (BoxServer, [String: String]) {
    let index = user.home + "/index.json"
    let server = try serve(writingIndexTo: index)
    try user.chown(index)
    return (server, ["CARAVAN_IMAGE_INDEX": index])
  }

  @Test func aCloudImageBootsWithItsSeedGrowsItsDiskKeepsAVolumeAndLeavesNothing() throws {
    let h = try Harness(name: "cloudimage")
    defer { h.cleanUp() }
    let index = h.root + "/index.json"
    let server = try CloudImageEndToEnd.serve(writingIndexTo: index)
    defer { server.stop() }
    let env = ["CARAVAN_IMAGE_INDEX": index]
    let project = h.root + "/proj"
    try h.write(
      """
      box "debian/12"
      memory 768MiB
      boot_timeout 8m
      disk 8GiB
      volume "data", size: 1GiB
      libvirt { graphics vnc }
      cloud_init inline: \"\"\"
        #cloud-config
        write_files:
          - path: /etc/caravan-e2e
            content: "written by cloud-init\\n"
        runcmd:
          - [sh, -c, "cat /etc/caravan-e2e > /var/tmp/runcmd-ran"]
        \"\"\"
      provision shell, inline: "cat /etc/caravan-e2e > /var/tmp/provisioned"
      """, to: "proj/Machinefile")

    let add = try h.caravan("box", "add", "debian/12", in: h.root, environment: env)
    try #require(add.status == 0, "\(add)")
    #expect(add.stdout.contains("qcow2 image) added"), "\(add)")
    #expect(!server.requests(containing: "SHA512SUMS").isEmpty, "the checksum file was read")

    func volumes() throws -> [String] {
      try Harness.virsh("vol-list", "caravan").stdout.split(separator: "\n").map {
        String($0.split(separator: " ").first ?? "")
      }.filter { $0.hasPrefix("caravan-proj-") }
    }
    // Killed right after the domain was defined: its disk (grown), volume and seed were made.
    let killed = try h.caravan(
      "up", in: project, environment: env.merging(["CARAVAN_FAULT_INJECT": "define:end"]) { $1 })
    #expect(killed.status == 9 || killed.status == 137, "killed by SIGKILL: \(killed)")
    let made = try volumes()
    #expect(
      made.contains { $0.hasSuffix("-cidata.iso") } && made.contains { $0.hasSuffix("-volume-data.qcow2") }, "\(made)")
    let disk = try #require(made.first { $0.hasSuffix(".qcow2") && !$0.contains("-volume-") }, "\(made)")
    let info = try Harness.virsh("vol-info", disk, "--pool", "caravan", "--bytes").stdout
    #expect(info.contains("8589934592 bytes"), "the root disk has disk's size: \(info)")
    let cleaned = try h.caravan("destroy", "-f", in: project, environment: env)
    #expect(cleaned.status == 0, "\(cleaned)")
    #expect(try volumes().isEmpty, "one destroy leaves no seed, volume or overlay")

    // Killed while cloud-init is waited for: the next `up` finishes the machine.
    let waiting = try h.caravan(
      "up", in: project, environment: env.merging(["CARAVAN_FAULT_INJECT": "cloud_init:start"]) { $1 })
    #expect(waiting.status == 9 || waiting.status == 137, "killed by SIGKILL: \(waiting)")
    // Killed again while the root file system is grown: growing again is harmless.
    let growing = try h.caravan(
      "up", in: project, environment: env.merging(["CARAVAN_FAULT_INJECT": "grow_disk:start"]) { $1 })
    #expect(growing.status == 9 || growing.status == 137, "killed by SIGKILL: \(growing)")
    let up = try h.caravan("up", in: project, environment: env)
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("running; finishing its first `up`"), "\(up)")
    #expect(up.stdout.contains("cloud-init is done"), "\(up)")
    #expect(!up.stdout.contains("insecure key"), "an image has none to replace: \(up)")
    // The display: QEMU's VNC server, bound on 127.0.0.1 only, listed by `caravan port`.
    let port = try h.caravan("port", in: project, environment: env)
    let display = try #require(
      port.stdout.split(separator: "\n").first { $0.contains("vnc display => ") }, "\(port)")
    let vncPort = try #require(
      display.components(separatedBy: "vnc://127.0.0.1:").last.flatMap { Int($0.prefix { $0.isNumber }) }, "\(port)")
    let listening = try h.run(["ss", "-Hltn", "sport = :\(vncPort)"], in: h.root)
    #expect(listening.stdout.contains("127.0.0.1:\(vncPort)"), "\(listening)")

    func guest(_ command: String) throws -> String {
      let result = try h.caravan("ssh", "-c", command, in: project, environment: env)
      #expect(result.status == 0, "\(command): \(result)")
      return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    #expect(
      try guest("cat /etc/caravan-e2e /var/tmp/runcmd-ran /var/tmp/provisioned")
        == "written by cloud-init\nwritten by cloud-init\nwritten by cloud-init")
    #expect(try guest("id -un; hostname; sudo -n id -u") == "vagrant\ndefault\n0")
    #expect(try guest("cloud-init status") == "status: done")
    let size = try #require(UInt64(try guest("df -B1 --output=size / | tail -n 1")))
    #expect(size > 7 << 30 && size < 8 << 30 + 1, "/ is about 8 GiB: \(size)")
    #expect(try guest("ls /dev/disk/by-id/").contains("virtio-caravan-data"))
    #expect(try guest("lsblk -bno SIZE /dev/disk/by-id/virtio-caravan-data") == "1073741824")
    let instance = try guest("cat /var/lib/cloud/data/instance-id")
    #expect(instance.hasPrefix("caravan-default-"), "\(instance)")
    _ = try guest(
      "sudo -n sh -c 'echo kept > /var/tmp/before-halt && mkfs.ext4 -q /dev/disk/by-id/virtio-caravan-data && sync'")

    // halt / up: the same instance (cloud-init does not run its first boot again), the volume kept.
    #expect(try h.caravan("halt", in: project, environment: env).status == 0)
    let again = try h.caravan("up", in: project, environment: env)
    #expect(again.status == 0, "\(again)")
    #expect(try guest("cat /var/lib/cloud/data/instance-id /var/tmp/before-halt") == "\(instance)\nkept")
    #expect(try guest("sudo -n blkid -o value -s TYPE /dev/disk/by-id/virtio-caravan-data") == "ext4")

    let destroy = try h.caravan("destroy", "-f", in: project, environment: env)
    #expect(destroy.status == 0, "\(destroy)")
    let left = try volumes()
    #expect(left.isEmpty, "no overlay, seed or volume left: \(left)")
    #expect(!(try Harness.virsh("list", "--all", "--name").stdout.contains("caravan-proj-")))
    #expect(try h.caravan("box", "remove", "debian/12", "--force", in: h.root, environment: env).status == 0)
  }

  @Test func aNormalUserBootsTwoUEFIMachinesWithATPMEachAndDestroyRemovesTheirNVRAM() throws {
    let user = try UserRunner(binary: Harness.binary, boxFile: Harness.boxFile)
    defer { user.remove() }
    let (server, env) = try CloudImageEndToEnd.serve(for: user)
    defer { server.stop() }
    try user.write(
      """
      box "debian/12"
      memory 768MiB
      boot_timeout 10m
      libvirt { firmware uefi; tpm true }
      machine "a" {}
      machine "b" {}
      """, to: "proj/Machinefile")
    let project = user.home + "/proj"
    let up = try user.caravan("up", in: project, environment: env)
    try #require(up.status == 0, "\(up)")
    for machine in ["a", "b"] {
      let facts = try user.caravan(
        "ssh", machine, "-c", "test -d /sys/firmware/efi && echo efi; test -c /dev/tpmrm0 && echo tpm; hostname",
        in: project, environment: env)
      #expect(facts.stdout == "efi\ntpm\n\(machine)\n", "\(machine): \(facts)")
    }
    let nvram = user.home + "/.config/libvirt/qemu/nvram"
    let files = (try? FileManager.default.contentsOfDirectory(atPath: nvram)) ?? []
    #expect(files.filter { $0.hasSuffix("_VARS.fd") }.count == 2, "an NVRAM file per machine: \(files)")
    let destroy = try user.caravan("destroy", "-f", in: project, environment: env)
    #expect(destroy.status == 0, "\(destroy)")
    let left = (try? FileManager.default.contentsOfDirectory(atPath: nvram)) ?? []
    #expect(!left.contains { $0.contains("caravan-proj-") }, "destroy removes the NVRAM files: \(left)")
    let swtpm = (try? FileManager.default.contentsOfDirectory(atPath: user.home + "/.config/libvirt/qemu/swtpm")) ?? []
    #expect(swtpm.isEmpty, "and the TPM state: \(swtpm)")
    #expect(try !user.virsh("vol-list", "caravan").stdout.contains("caravan-proj-"))
  }

  /// Warm starts of a cloud image, as a normal user: the box's state is saved once
  /// cloud-init has finished (with Caravan's seed alone), and each restored machine has
  /// its own key (the insecure one gone), hostname and instance id, which stay its own
  /// across halt/up (cloud-init does not take the next boot for a new instance).
  @Test func aNormalUsersImageMachinesStartWarmWithTheirOwnKeyHostnameAndInstanceID() throws {
    let user = try UserRunner(binary: Harness.binary, boxFile: Harness.boxFile)
    defer { user.remove() }
    let (server, env) = try CloudImageEndToEnd.serve(for: user)
    defer { server.stop() }
    try user.write(
      """
      box "debian/12"
      memory 768MiB
      boot_timeout 8m
      libvirt { warm true }
      machine "a" {}
      machine "b" {}
      """, to: "proj/Machinefile")
    let project = user.home + "/proj"
    let up = try user.caravan("up", in: project, environment: env)
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("cloud-init is done in the warm-state guest"), "saved after cloud-init: \(up)")
    #expect(
      up.stdout.components(separatedBy: "restored from the warm state").count == 3, "both restored: \(up)")
    #expect(up.stdout.contains("replacing the box's insecure key"), "\(up)")

    func guest(_ machine: String, _ command: String) throws -> String {
      let result = try user.caravan("ssh", machine, "-c", command, in: project, environment: env)
      #expect(result.status == 0, "\(machine): \(command): \(result)")
      return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    var instances: [String] = []
    for machine in ["a", "b"] {
      let facts = try guest(machine, "hostname; cat /var/lib/cloud/data/instance-id; ls /var/lib/cloud/instances")
      let lines = facts.split(separator: "\n").map(String.init)
      #expect(lines.count == 3 && lines[0] == machine, "\(machine): \(facts)")
      #expect(lines.count == 3 && lines[1].hasPrefix("caravan-\(machine)-") && lines[2] == lines[1], "\(facts)")
      instances.append(lines.count > 1 ? lines[1] : "")
      let keys = try guest(machine, "cat ~/.ssh/authorized_keys")
      #expect(!keys.contains("vagrant insecure public key"), "\(machine): the insecure key is gone: \(keys)")
      let own = try String(contentsOfFile: project + "/.caravan/machines/\(machine)/id_ed25519.pub", encoding: .utf8)
      #expect(keys.contains(own.split(separator: " ")[1]), "\(machine): its own key")
    }
    #expect(instances[0] != instances[1])

    // halt / up: cloud-init reads the machine's own seed and finds its own instance.
    #expect(try user.caravan("halt", "b", in: project, environment: env).status == 0)
    let again = try user.caravan("up", "b", in: project, environment: env)
    #expect(again.status == 0, "\(again)")
    #expect(
      try guest("b", "cat /var/lib/cloud/data/instance-id; ls /var/lib/cloud/instances; cloud-init status; hostname")
        == "\(instances[1])\n\(instances[1])\nstatus: done\nb")

    let destroy = try user.caravan("destroy", "-f", in: project, environment: env)
    #expect(destroy.status == 0, "\(destroy)")
    let left = try user.virsh("vol-list", "caravan").stdout
    #expect(!left.contains("caravan-proj-") && !left.contains("cidata"), "no overlay or seed left: \(left)")
    #expect(try user.virsh("list", "--all", "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "")
  }
}

extension Harness {
  /// scripts/cloud-image.sh's output folder (images/cloud/bookworm/latest/… and
  /// index.json), from CARAVAN_E2E_CLOUD_IMAGE.
  static let cloudImageFolder = ProcessInfo.processInfo.environment["CARAVAN_E2E_CLOUD_IMAGE"].flatMap {
    $0.isEmpty ? nil : $0
  }
}
