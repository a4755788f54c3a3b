import Foundation
import TestSupport
import Testing

/// Boxes end to end on real guests: a v2 box (two disks) served by a catalog on
/// 127.0.0.1, added by `up` itself from the Machinefile's `url:`, by two
/// projects whose `up`s start at once: one download, one import, both run.
@Suite(
  .guestSlots(2, minutes: 4), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct EndToEndBoxes {
  /// Builds a v2 box from the test box: its image as box_1.img and a blank data disk as box_2.img.
  static func makeV2Box(in dir: String) throws -> String {
    let script = """
      set -e
      cd '\(dir)'
      tar -xf '\(Harness.boxFile)' box.img Vagrantfile
      mv box.img box_1.img
      qemu-img create -q -f qcow2 box_2.img 64M
      printf '{"provider":"libvirt","format":"qcow2","disks":[{"path":"box_1.img"},{"path":"box_2.img","name":"data"}]}' > metadata.json
      tar -czf v2.box metadata.json Vagrantfile box_1.img box_2.img
      rm box_1.img box_2.img metadata.json Vagrantfile
      sha256sum v2.box | cut -d' ' -f1
      """
    let out = try Harness.exec(["sh", "-c", script], in: "/", environment: ProcessInfo.processInfo.environment)
    guard out.status == 0 else { throw POSIXError(.EIO) }
    return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func twoProjectsUpAtOnceOnAFreshV2BoxFromACatalog() throws {
    let h = try Harness(name: "boxes")
    defer { h.cleanUp() }
    let served = h.root + "/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    let sha = try EndToEndBoxes.makeV2Box(in: served)
    try
      #"{"name":"e2e/v2","versions":[{"version":"1.0.0","providers":[{"name":"libvirt","url":"v2.box","checksum_type":"sha256","checksum":"\#(sha)"}]}]}"#
      .write(toFile: served + "/catalog.json", atomically: true, encoding: .utf8)
    let server = try BoxServer(root: served)
    defer { server.stop() }
    for project in ["a", "b"] {
      try h.write(
        """
        box "e2e/v2", url: "\(server.base)/catalog.json", version: "~> 1.0"
        memory 512MiB
        hostname "box-\(project).local"
        provision shell, inline: "lsblk -dn -o NAME > /tmp/disks"
        """, to: "\(project)/Machinefile")
    }
    defer { _ = try? h.caravan("box", "remove", "e2e/v2", "--all", "--force", in: h.root) }
    // Both `up`s at once.
    let shared = Locked<[String: Harness.Output]>([:])
    let group = DispatchGroup()
    for project in ["a", "b"] {
      group.enter()
      Thread {
        let out = try? h.caravan("up", in: h.root + "/" + project)
        shared.withLock { $0[project] = out }
        group.leave()
      }.start()
    }
    group.wait()
    let results = shared.current
    defer {
      for project in ["a", "b"] { _ = try? h.caravan("destroy", "-f", in: h.root + "/" + project) }
    }
    let a = try #require(results["a"])
    let b = try #require(results["b"])
    try #require(a.status == 0, "\(a)")
    try #require(b.status == 0, "\(b)")
    let outputs = [a.stdout, b.stdout]
    #expect(outputs.filter { $0.contains("downloading box 'e2e/v2' (1.0.0)") }.count == 1, "one download: \(a)\n\(b)")
    #expect(
      outputs.filter { $0.contains("importing box 'e2e/v2' (1.0.0) disk 1 of 2") }.count == 1, "one import: \(a)\n\(b)")
    #expect(server.requests(containing: "v2.box").count == 1)
    for project in ["a", "b"] {
      let disks = try h.caravan("ssh", "-c", "cat /tmp/disks", in: h.root + "/" + project)
      #expect(
        disks.stdout.contains("vda") && disks.stdout.contains("vdb"), "the v2 box's second disk is attached: \(disks)")
      let name = try h.caravan("ssh", "-c", "hostname; grep 127.0.1.1 /etc/hosts", in: h.root + "/" + project)
      #expect(
        name.stdout.hasPrefix("box-\(project).local\n") && name.stdout.contains("box-\(project).local box-\(project)"),
        "\(name)")
    }
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    let boxVolumes = volumes.split(separator: "\n").filter { $0.contains("caravan-box_e2e-VAGRANTSLASH-v2_1.0.0_") }
    #expect(boxVolumes.filter { !$0.contains(".complete") }.count == 2, "two disks, imported once: \(volumes)")
    #expect(boxVolumes.filter { $0.contains(".img.complete") }.count == 2, "each with its mark: \(volumes)")

    // Removing a box in use is refused and names the machine.
    let refused = try h.caravan("box", "remove", "e2e/v2", in: h.root)
    #expect(refused.status == 1 && refused.stderr.contains("is used by machine default"), "\(refused)")

    for project in ["a", "b"] {
      #expect(try h.caravan("destroy", "-f", in: h.root + "/" + project).status == 0)
    }
    let removed = try h.caravan("box", "remove", "e2e/v2", in: h.root)
    #expect(removed.status == 0, "\(removed)")
    let after = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!after.contains("caravan-box_e2e-VAGRANTSLASH-v2_"), "\(after)")
    #expect(!after.contains("caravan-a-") && !after.contains("caravan-b-"), "\(after)")
  }

  /// The test box with 4 KiB of 'C' written into its image at 512 KiB, in the gap
  /// before the first partition (1 MiB), where no file system or boot code is.
  static func makeMarkedBox(in dir: String) throws -> String {
    let script = """
      set -e
      cd '\(dir)'
      tar -xf '\(Harness.boxFile)' box.img Vagrantfile metadata.json
      qemu-io -f qcow2 -c 'write -P 0x43 512k 4k' box.img >/dev/null
      tar -cf marked.box metadata.json Vagrantfile box.img
      rm box.img metadata.json Vagrantfile
      """
    let out = try Harness.exec(["sh", "-c", script], in: "/", environment: ProcessInfo.processInfo.environment)
    guard out.status == 0 else { throw POSIXError(.EIO) }
    return dir + "/marked.box"
  }

  /// Issue 20: `box add --force` of another image under the same version gives
  /// new machines (and the warm state) the new image; a machine made before keeps
  /// its own; `box remove` then takes the volumes of both images.
  @Test func aForcedBoxAddOfAChangedImageReachesNewMachinesAndTheWarmState() throws {
    let h = try Harness(name: "replace")
    defer { h.cleanUp() }
    let marked = try EndToEndBoxes.makeMarkedBox(in: h.root)
    let marker = "sudo dd if=/dev/vda bs=4096 skip=128 count=1 status=none | od -An -c | head -n 1 | tr -d ' '"
    for project in ["old", "new"] {
      try h.write(
        """
        box "e2e/replace"
        memory 512MiB
        cpus 1
        """, to: "\(project)/Machinefile")
    }
    defer {
      for project in ["old", "new"] { _ = try? h.caravan("destroy", "-f", in: h.root + "/" + project) }
      _ = try? h.caravan("box", "remove", "e2e/replace", "--force", in: h.root)
    }
    #expect(try h.caravan("box", "add", "e2e/replace", Harness.boxFile, in: h.root).status == 0)
    let old = try h.caravan("up", "--warm", in: h.root + "/old")
    try #require(old.status == 0, "\(old)")
    let before = try h.caravan("ssh", "-c", marker, in: h.root + "/old")
    #expect(before.stdout.hasPrefix("\\0\\0\\0"), "the first image has zeros there: \(before)")

    let add = try h.caravan("box", "add", "--force", "e2e/replace", marked, in: h.root)
    #expect(add.status == 0, "\(add)")
    #expect(
      add.stdout.contains("default (\(h.root)/old) keeps the earlier image of box 'e2e/replace' (0)"), "\(add)")
    let new = try h.caravan("up", "--warm", in: h.root + "/new")
    try #require(new.status == 0, "\(new)")
    #expect(new.stdout.contains("has no saved state in pool"), "the warm state is made again: \(new)")
    #expect(new.stdout.contains("restored from the warm state"), "\(new)")
    let after = try h.caravan("ssh", "-c", marker, in: h.root + "/new")
    #expect(after.stdout.hasPrefix("CCCC"), "the new machine runs on the new image: \(after)")
    let kept = try h.caravan("ssh", "-c", marker, in: h.root + "/old")
    #expect(kept.stdout.hasPrefix("\\0\\0\\0"), "the old machine keeps its image: \(kept)")
    let volumes = try Harness.virsh("vol-list", "caravan").stdout.split(separator: "\n")
      .filter { $0.contains("caravan-box_e2e-VAGRANTSLASH-replace_0_") }
    #expect(
      volumes.filter { $0.contains(".img ") }.count == 2 && volumes.filter { $0.contains(".warm.qcow2") }.count == 2,
      "both images, each with its warm state: \(volumes)")

    for project in ["old", "new"] {
      #expect(try h.caravan("destroy", "-f", in: h.root + "/" + project).status == 0)
    }
    let removed = try h.caravan("box", "remove", "e2e/replace", in: h.root)
    #expect(removed.status == 0, "\(removed)")
    let left = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!left.contains("caravan-box_e2e-VAGRANTSLASH-replace_"), "every image of the version is gone: \(left)")
  }
}
