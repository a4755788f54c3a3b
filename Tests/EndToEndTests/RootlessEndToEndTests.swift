import Foundation
import Testing

/// The laptop path (issue 20): a fresh normal user, on its own `qemu:///session`,
/// runs what root runs on `qemu:///system`. Two guests, one after the other: `web` boots
/// cold (`up`, provisioner, forward, 9p, halt/up) and is halted; `db` comes up warm (`up
/// --warm` makes the box's warm state, then restores it: suspend/resume, snapshots). A private network is
/// refused by name with nothing made; `destroy -f` and `box remove` leave the user's
/// pool empty. The user, its session daemons and its home are removed afterwards.
@Suite(
  .guestSlot(minutes: 4), .serialized,  // web is halted before db and its warm state boot
  .enabled(if: Harness.enabled && getuid() == 0, "needs root, CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct RootlessEndToEnd {
  @Test func aFreshNormalUserRunsEverythingOnItsSession() throws {
    let started = Date()
    let user = try UserRunner(binary: Harness.binary, boxFile: Harness.boxFile)
    defer { user.remove() }
    let project = user.home + "/proj"
    try user.write(
      """
      box "caravan/debian-12"
      memory 512MiB
      boot_timeout 10m

      machine "web" {
        forward 18480 -> 8080
        sync "./shared" -> "/mnt/shared", type: 9p
        provision shell, name: "mark", inline: "echo provisioned > /var/tmp/mark; echo run >> /var/tmp/runs"
      }
      machine "db", autostart: false {
        sync "./site" -> "/srv/site"
        provision shell, name: "mark", inline: "echo db > /var/tmp/mark"
      }
      machine "priv", autostart: false {
        network private, ip: "10.47.0.11"
      }
      """, to: "proj/Machinefile")
    try user.write("from the host\n", to: "proj/shared/host.txt")
    try user.write("<h1>synced</h1>\n", to: "proj/site/index.html")

    // doctor on a fresh account: no error, and it says what the session needs.
    let doctor = try user.caravan("doctor", in: project)
    #expect(doctor.status == 0, "\(doctor)")
    #expect(doctor.stdout.contains("libvirt URI 'qemu:///session' (Caravan's default for a normal user)"), "\(doctor)")
    #expect(
      doctor.stdout.contains("log folder \(user.home)/.cache/libvirt/qemu/log is missing: `up` makes it"), "\(doctor)")
    #expect(doctor.stdout.contains("needs_root"), "\(doctor)")

    #expect(try user.caravan("box", "add", "caravan/debian-12", user.boxFile, in: user.home).status == 0)

    // A private network: refused by name before anything is made.
    let priv = try user.caravan("up", "priv", in: project)
    #expect(priv.status != 0, "\(priv)")
    #expect(
      priv.stderr.contains(
        "machine 'priv': `network private, ip: \"10.47.0.11\"` needs a libvirt network, which qemu:///session cannot create without root"
      ), "\(priv)")
    #expect(priv.stderr.contains("qemu:///system"), "\(priv)")
    #expect(try user.virsh("list", "--all", "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    #expect(
      try user.virsh("net-list", "--all", "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    #expect(try !user.virsh("vol-list", "caravan").stdout.contains(".qcow2"), "no volume")

    // A rootfs build needs root: refused by name before anything is made.
    let boxfile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("boxes/debian-12").path
    let build = try user.caravan("build", boxfile, "--var", "output=\(user.home)/out.box", in: user.home)
    #expect(build.status != 0, "\(build)")
    #expect(
      build.stderr.contains("`caravan build` of a rootfs Boxfile needs root, and you are \(user.name)")
        && build.stderr.contains("sudo caravan build"), "\(build)")
    let locks = (try? FileManager.default.contentsOfDirectory(atPath: user.caravanHome + "/locks")) ?? []
    #expect(!locks.contains { $0.hasPrefix("build-") }, "nothing of the build: \(locks)")

    // up: cold boot, provisioner, forward, 9p.
    let upStart = Date()
    let up = try user.caravan("up", in: project)
    try #require(up.status == 0, "\(up)")
    let upTime = Date().timeIntervalSince(upStart)
    #expect(up.stdout.contains("running provisioner 'mark'"), "\(up)")
    func guest(_ machine: String, _ command: String) throws -> String {
      let result = try user.caravan("ssh", machine, "-c", command, in: project)
      #expect(result.status == 0, "\(machine): \(command): \(result)")
      return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    #expect(try guest("web", "cat /var/tmp/mark; id -un") == "provisioned\nvagrant")
    let domains = try user.virsh("list", "--name").stdout
    #expect(domains.contains("caravan-proj-") && domains.contains("-web"), "the user's session runs it: \(domains)")
    let qemuUser = try UserRunner.root(["ps", "-o", "user=", "-C", "qemu-system-x86_64"]).stdout
    #expect(qemuUser.contains(user.name), "QEMU runs as the user: \(qemuUser)")

    // The forward, on 127.0.0.1.
    _ = try guest(
      "web",
      """
      echo forwarded > /var/tmp/f.txt; cd /var/tmp && (setsid nohup python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &)
      python3 -c 'import socket, time
      for _ in range(300):
          try: socket.create_connection(("127.0.0.1", 8080), 1).close(); break
          except OSError: time.sleep(0.2)
      else: raise SystemExit("nothing listens on 8080")'
      """)
    let hostPort = try user.caravan("port", "web", "--guest", "8080", in: project).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let fetched = try user.asUser(["curl", "-s", "--max-time", "20", "http://127.0.0.1:\(hostPort)/f.txt"], in: "/")
    #expect(fetched.stdout == "forwarded\n", "port \(hostPort): \(fetched)")

    // 9p (squash): the host's file in the guest, with the user's uid as its owner; the
    // guest's root writes (the owner QEMU would give a new file is dropped, not an
    // error), the file is the user's on the host; an explicit chown is refused.
    let uid = try user.asUser(["id", "-u"], in: "/").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try guest("web", "cat /mnt/shared/host.txt; stat -c %u /mnt/shared/host.txt") == "from the host\n\(uid)")
    _ = try guest("web", "sudo -n sh -c 'echo from the guest > /mnt/shared/guest.txt' && sync")
    let chown = try user.caravan("ssh", "web", "-c", "sudo -n chown vagrant: /mnt/shared/guest.txt", in: project)
    #expect(chown.status != 0 && chown.stderr.contains("Operation not permitted"), "\(chown)")
    let written = project + "/shared/guest.txt"
    #expect(FileManager.default.contents(atPath: written) == Data("from the guest\n".utf8))
    let owner = try? FileManager.default.attributesOfItem(atPath: written)[.ownerAccountName] as? String
    #expect(owner == user.name, "QEMU writes as the user")

    let asVagrant = try user.caravan(
      "ssh", "web", "-c", "touch /mnt/shared/by-vagrant && ls -ln /mnt/shared", in: project)
    // The box user is another uid than the owner the guest sees: the folder's modes refuse it.
    #expect(asVagrant.status != 0 && asVagrant.stderr.contains("Permission denied"), "\(asVagrant)")

    // halt, then up: its own disk boots, the provisioner is not run again.
    #expect(try user.caravan("halt", "web", in: project).status == 0)
    #expect(try user.caravan("status", "web", in: project).stdout.contains("poweroff"))
    let again = try user.caravan("up", "web", in: project)
    #expect(again.status == 0 && !again.stdout.contains("running provisioner"), "\(again)")
    #expect(try guest("web", "cat /var/tmp/mark; wc -l < /var/tmp/runs") == "provisioned\n1")

    // A warm up of a second machine: the box's warm state is made, then restored. Web is
    // halted first: one guest at a time (the suite holds one guest slot).
    #expect(try user.caravan("halt", "web", in: project).status == 0)
    let warm = try user.caravan("up", "--warm", "db", in: project)
    #expect(warm.status == 0, "\(warm)")
    #expect(warm.stdout.contains("db: restored from the warm state in"), "\(warm)")
    #expect(try guest("db", "cat /var/tmp/mark; hostname; cat /srv/site/index.html") == "db\ndb\n<h1>synced</h1>")
    #expect(try user.caravan("box", "list", in: user.home).stdout.contains("warm state"))

    // suspend / resume, snapshots: on db (a machine with a 9p folder cannot save its memory).
    #expect(try user.caravan("suspend", "db", in: project).status == 0)
    #expect(try user.caravan("status", "db", in: project).stdout.contains("saved"))
    let resume = try user.caravan("resume", "db", in: project)
    #expect(resume.status == 0, "\(resume)")
    #expect(try guest("db", "cat /var/tmp/mark") == "db")
    let save = try user.caravan("snapshot", "save", "db", "s1", in: project)
    #expect(save.status == 0, "\(save)")
    _ = try guest("db", "touch /var/tmp/after-s1 && sync")
    #expect(try user.caravan("snapshot", "list", "db", in: project).stdout.contains("s1"))
    let restore = try user.caravan("snapshot", "restore", "db", "s1", in: project)
    #expect(restore.status == 0, "\(restore)")
    #expect(try guest("db", "test -e /var/tmp/after-s1 && echo kept || echo gone") == "gone")

    // destroy, then box remove: nothing of the project or the box in the user's pool.
    let destroy = try user.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try user.virsh("list", "--all", "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    #expect(try !user.virsh("vol-list", "caravan").stdout.contains("caravan-proj-"))
    #expect(try user.caravan("box", "remove", "caravan/debian-12", "--force", in: user.home).status == 0)
    let volumes = try user.virsh("vol-list", "caravan")
    #expect(volumes.status == 0 && !volumes.stdout.contains(".qcow2") && !volumes.stdout.contains(".img"), "\(volumes)")
    print(
      "rootless suite: cold up \(Int(upTime)) s, whole test \(Int(Date().timeIntervalSince(started))) s")
  }
}
