import Foundation
import TestSupport
import Testing

/// The walking skeleton on a real QEMU guest (TCG): box add, up, status, ssh,
/// provision once, halt, up again, destroy, and nothing of the project left in
/// libvirt. One boot (two, with the second `up`) checks many things.
@Suite(
  .guestSlot(minutes: 3), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct EndToEndWalkingSkeleton {
  @Test func wholeLifecycleOnARealGuest() throws {
    let h = try Harness(name: "skeleton")
    defer { h.cleanUp() }
    let project = h.root + "/hello"
    try h.write(
      """
      # end-to-end project
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 2
      forward 8080 -> 80
      sync "./site" -> "/srv/site"
      volume "data", size: 1GiB
      provision shell, name: "hello", inline: \"\"\"
        echo "hello from $(hostname)" > /etc/caravan-hello
        echo run >> /var/tmp/caravan-provision-count
        \"\"\"
      """, to: "hello/Machinefile")

    try h.write("<h1>synced</h1>\n", to: "hello/site/index.html")

    // A missing box is named, with the command that adds it, and nothing is defined.
    let noBox = try h.caravan("up", in: project)
    #expect(noBox.status != 0)
    #expect(noBox.stderr.contains("box 'caravan/debian-12' is not installed"), "\(noBox)")
    #expect(noBox.stderr.contains("caravan box add caravan/debian-12"), "\(noBox)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains("caravan-hello-"))

    let add = try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root)
    #expect(add.status == 0, "\(add)")
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }
    let list = try h.caravan("box", "list", in: h.root)
    #expect(list.stdout.contains("caravan/debian-12") && list.stdout.contains("(libvirt, 0)"), "\(list)")

    // Hold port 8080 so `up` must choose another one and say so.
    let blocker = try PortBlocker(port: 8080)
    defer { blocker.close() }

    let status0 = try h.caravan("status", in: project)
    #expect(status0.status == 0 && status0.stdout.contains("not created"), "\(status0)")

    let up = try h.caravan("up", in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("accelerator: tcg"), "\(up)")
    #expect(up.stdout.contains("creating volume 'data' (1.0 GiB, virtio)"), "\(up)")
    #expect(!up.stderr.contains("not supported yet"), "every setting is acted on: \(up)")
    #expect(up.stdout.contains("host port 127.0.0.1:8080 is in use; forwarding "), "\(up)")
    #expect(up.stdout.contains("running provisioner 'hello'"), "\(up)")
    #expect(up.stdout.contains("replacing the box's insecure key"), "\(up)")

    let status1 = try h.caravan("status", in: project)
    #expect(status1.stdout.contains("default") && status1.stdout.contains("running"), "\(status1)")

    // The provisioner's file, read over `caravan ssh`, and the exit status passed through.
    let cat = try h.caravan("ssh", "-c", "cat /etc/caravan-hello", in: project)
    #expect(cat.status == 0 && cat.stdout.contains("hello from debian-12"), "\(cat)")
    let volume = try h.caravan("ssh", "-c", "lsblk -bno SIZE /dev/disk/by-id/virtio-caravan-data", in: project)
    #expect(volume.status == 0 && volume.stdout == "1073741824\n", "the volume, by its serial: \(volume)")
    let synced = try h.caravan("ssh", "-c", "cat /srv/site/index.html", in: project)
    #expect(synced.stdout.contains("<h1>synced</h1>"), "the rsync folder is copied at up: \(synced)")
    let exit7 = try h.caravan("ssh", "-c", "exit 7", in: project)
    #expect(exit7.status == 7, "\(exit7)")

    // The insecure key no longer logs in; the machine's own key does.
    let state = try String(contentsOfFile: project + "/.caravan/machines/default/state.json", encoding: .utf8)
    let port = try #require(state.components(separatedBy: "\"sshPort\" : ").dropFirst().first?.prefix { $0.isNumber })
    let insecure = h.home + "/keys/vagrant-insecure-rsa"
    let oldKey = try Harness.exec(
      [
        "ssh", "-p", String(port), "-i", insecure, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "vagrant@127.0.0.1", "true",
      ], in: "/", environment: [:])
    #expect(oldKey.status == 255, "the insecure key still logs in: \(oldKey)")
    let keyMode =
      try FileManager.default.attributesOfItem(atPath: project + "/.caravan/machines/default/id_ed25519")[
        .posixPermissions] as? Int
    #expect(keyMode == 0o600)
    let stateMode =
      try FileManager.default.attributesOfItem(atPath: project + "/.caravan/machines/default/state.json")[
        .posixPermissions] as? Int
    #expect(stateMode == 0o600)

    let halt = try h.caravan("halt", in: project)
    #expect(halt.status == 0, "\(halt)")
    #expect(halt.stdout.contains("powering off through SSH"), "\(halt)")
    let status2 = try h.caravan("status", in: project)
    #expect(status2.stdout.contains("poweroff"), "\(status2)")
    let domain = try #require(status2.stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })
    // This test's own box volume (other tests' stores have volumes of the same
    // box name at the same time): the one the machine's disk is backed by.
    let overlay = try Harness.virsh("vol-dumpxml", "--pool", "caravan", domain + ".qcow2").stdout
    let backing = try #require(
      overlay.components(separatedBy: "<backingStore>").dropFirst().first?
        .components(separatedBy: "<path>").dropFirst().first?.components(separatedBy: "</path>").first)
    let boxVolume = (backing as NSString).lastPathComponent
    #expect(try Harness.virsh("domstate", domain).stdout.contains("shut off"))

    // Second `up`: boots again and does not provision again.
    let up2 = try h.caravan("up", in: project)
    try #require(up2.status == 0, "\(up2)")
    #expect(!up2.stdout.contains("running provisioner 'hello'"), "\(up2)")
    #expect(up2.stdout.contains("already provisioned"), "\(up2)")
    let count = try h.caravan("ssh", "-c", "wc -l < /var/tmp/caravan-provision-count", in: project)
    #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(count)")

    // `caravan provision` runs it again, on demand; `status --json` tells the SSH port.
    let again = try h.caravan("provision", in: project)
    #expect(again.status == 0 && again.stdout.contains("running provisioner 'hello'"), "\(again)")
    let count2 = try h.caravan("ssh", "-c", "wc -l < /var/tmp/caravan-provision-count", in: project)
    #expect(count2.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(count2)")
    let json = try h.caravan("status", "--json", in: project)
    let machines = try #require(
      (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["machines"]
        as? [[String: Any]])
    #expect(
      machines.first?["state"] as? String == "running" && machines.first?["ssh_port"] as? Int == Int(port), "\(json)")

    // State drift: a `virsh destroy` by hand is seen at once.
    _ = try Harness.virsh("destroy", domain)
    let status3 = try h.caravan("status", in: project)
    #expect(status3.stdout.contains("poweroff"), "\(status3)")

    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    let status4 = try h.caravan("status", in: project)
    #expect(status4.stdout.contains("not created"), "\(status4)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!volumes.contains(domain), "overlay left behind: \(volumes)")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"))
    let destroyAgain = try h.caravan("destroy", "-f", in: project)
    #expect(destroyAgain.status == 0, "destroy is idempotent: \(destroyAgain)")

    // The box volume stays until the box is removed; then the pool has nothing of it.
    #expect(volumes.contains("caravan-box_caravan-VAGRANTSLASH-debian-12_0_"), "\(volumes)")
    let remove = try h.caravan("box", "remove", "caravan/debian-12", in: h.root)
    #expect(remove.status == 0, "\(remove)")
    #expect(boxVolume.hasPrefix("caravan-box_caravan-VAGRANTSLASH-debian-12_0_"), "\(boxVolume)")
    #expect(volumes.contains(boxVolume), "\(volumes)")
    let after = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!after.contains(boxVolume), "\(boxVolume) is left: \(after)")
  }
}

/// Faults that need libvirt but little or no guest time.
@Suite(
  .guestSlot(minutes: 1), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct EndToEndFaults {
  @Test func unreachableLibvirtIsNamedWithTheFix() throws {
    let h = try Harness(name: "nolibvirt")
    defer { h.cleanUp() }
    try h.write("box \"caravan/debian-12\"\n", to: "p/Machinefile")
    let uri = "qemu:///system?socket=/nonexistent/libvirt-sock"
    let out = try h.caravan("status", in: h.root + "/p", environment: ["CARAVAN_LIBVIRT_URI": uri])
    #expect(out.status == 1, "\(out)")
    #expect(out.stderr.contains("cannot connect to libvirt at '\(uri)'"), "\(out)")
    #expect(out.stderr.contains("libvirtd -d"), "\(out)")
  }

  @Test func sshDeadlineSaysWhatItWaitedForAndWhereTheConsoleIs() throws {
    let h = try Harness(name: "deadline")
    defer { h.cleanUp() }
    let project = h.root + "/slow"
    try h.write(
      """
      box "caravan/debian-12"
      boot_timeout 3s
      machine "slow" {
        memory 512MiB
      }
      """, to: "slow/Machinefile")
    #expect(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", in: h.root) }
    // By default a failed first `up` removes what it made and keeps the console log.
    let removed = try h.caravan("up", in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    #expect(removed.status == 1, "\(removed)")
    #expect(removed.stderr.contains("within 3 s"), "\(removed)")
    #expect(removed.stderr.contains("The machine was removed"), "\(removed)")
    #expect(removed.stderr.contains("-console.log"), "\(removed)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains("caravan-slow-slow-"))
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains("caravan-slow-slow-"))
    #expect(try h.caravan("status", in: project).stdout.contains("not created"))

    let up = try h.caravan("up", "--no-destroy-on-error", in: project)
    #expect(up.status == 1, "\(up)")
    #expect(up.stderr.contains("machine 'slow' did not answer SSH on 127.0.0.1:"), "\(up)")
    #expect(up.stderr.contains("within 3 s"), "\(up)")
    #expect(up.stderr.contains("-console.log"), "\(up)")
    #expect(up.stderr.contains("caravan destroy -f slow"), "\(up)")
    // The half-made machine is known and removable.
    let status = try h.caravan("status", in: project)
    #expect(status.stdout.contains("running"), "\(status)")
    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try h.caravan("status", in: project).stdout.contains("not created"))
  }
}
