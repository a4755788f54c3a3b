import Foundation
import Testing

/// Synced folders on one real QEMU guest (TCG), two boots (`up` and `reload`): rsync at
/// `up` with an exclude and an owner, before the provisioners; a host deletion followed
/// by `caravan rsync`; `caravan rsync-auto` picking up a change until SIGINT; a 9p folder
/// QEMU's user cannot write refused before anything is made, then a 9p mount both ways
/// with QEMU not root and guest root unable to make a setuid file or a device node on the
/// host; a snapshot of the running 9p machine refused; `reload` copying and mounting
/// again; virtiofs refused before anything is made; and nothing left in libvirt after
/// `destroy -f`.
@Suite(
  .guestSlot(minutes: 4), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct SyncEndToEnd {
  /// Polls `check` every half second until it holds or `seconds` pass.
  func eventually(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if try check() { return true }
      Thread.sleep(forTimeInterval: 0.5)
    }
    return try check()
  }

  @Test func rsyncRsyncAutoNinepReloadVirtiofsRefusalAndDestroy() throws {
    let h = try Harness(name: "sync")
    defer { h.cleanUp() }
    let project = h.root + "/proj"
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      sync "./src dir" -> "/srv/app", exclude: ["*.log", "cache"], owner: "www-data"
      sync "./shared" -> "/mnt/shared", type: 9p
      sync "./off" -> "/srv/off", disabled: true
      provision shell, name: "sees-sync", inline: "test -f /srv/app/hello.txt"
      """, to: "proj/Machinefile")
    try h.write("hello\n", to: "proj/src dir/hello.txt")
    try h.write("bye\n", to: "proj/src dir/sub/gone.txt")
    try h.write("noise\n", to: "proj/src dir/app.log")
    try h.write("cached\n", to: "proj/src dir/cache/blob")
    try h.write("from the host\n", to: "proj/shared/host.txt")
    #expect(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }

    // QEMU runs as libvirt-qemu, which may read the folder (0755) but not write it:
    // refused by name before anything is made.
    let unwritable = try h.caravan("up", in: project)
    #expect(unwritable.status == 1, "\(unwritable)")
    #expect(
      unwritable.stderr.contains(
        "QEMU runs as 'libvirt-qemu' (uid 64055) on qemu:///system and could not share the 9p folder '\(project)/shared': it may not read, write and search the folder"
      ), "\(unwritable)")
    #expect(unwritable.stderr.contains("`type: rsync`"), "\(unwritable)")
    #expect(!unwritable.stdout.contains("creating domain"), "\(unwritable)")
    #expect(try h.caravan("status", in: project).stdout.contains("not created"))
    chmod(project + "/shared", 0o777)

    let events = h.root + "/events.jsonl"
    let up = try h.caravan("up", "--events", events, in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    #expect(!up.stderr.contains("not supported yet"), "\(up)")
    #expect(up.stdout.contains("synced folder ./src dir -> /srv/app (rsync)"), "\(up)")
    let domain = try #require(
      try h.caravan("status", in: project).stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })

    func guest(_ command: String) throws -> String {
      let out = try h.caravan("ssh", "-c", command, in: project)
      return out.status == 0 ? out.stdout : "exit \(out.status): \(out.stderr)"
    }

    // rsync at up: contents, owner and its group, excludes, a disabled folder skipped;
    // the provisioner (which needs the file) ran after it.
    #expect(try guest("cat /srv/app/hello.txt /srv/app/sub/gone.txt") == "hello\nbye\n")
    #expect(try guest("stat -c %U:%G /srv/app/hello.txt /srv/app") == "www-data:www-data\nwww-data:www-data\n")
    #expect(try guest("ls -A /srv/app") == "hello.txt\nsub\n", "*.log and cache excluded")
    #expect(try guest("test -e /srv/off && echo there || echo absent") == "absent\n")
    #expect(up.stdout.contains("running provisioner 'sees-sync'"), "\(up)")
    let lines = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n")
    let syncEnds = try lines.compactMap {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.filter { $0["step"] as? String == "sync" && $0["phase"] as? String == "end" }
    #expect(
      syncEnds.map { $0["detail"] as? String ?? "" }.sorted() == [
        "./shared -> /mnt/shared (9p)", "./src dir -> /srv/app (rsync)",
      ], "\(syncEnds)")
    #expect(syncEnds.allSatisfy { $0["outcome"] as? String == "ok" && $0["duration_s"] is Double }, "\(syncEnds)")

    // A host deletion reaches the guest with `caravan rsync`.
    try FileManager.default.removeItem(atPath: project + "/src dir/sub/gone.txt")
    let rsync = try h.caravan("rsync", in: project)
    #expect(rsync.status == 0, "\(rsync)")
    #expect(try guest("ls -A /srv/app/sub") == "")

    // rsync-auto: a change on the host is in the guest within seconds; SIGINT ends it with 0.
    let log = h.root + "/rsync-auto.log"
    let auto = try h.spawn(["rsync-auto"], in: project, log: log)
    defer { if auto.isRunning { auto.terminate() } }
    let watching = eventually(60) {
      (try? String(contentsOfFile: log, encoding: .utf8))?.contains("watching") ?? false
    }
    try #require(watching, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    try h.write("auto\n", to: "proj/src dir/sub/auto.txt")
    #expect(try eventually(20) { try guest("cat /srv/app/sub/auto.txt 2>/dev/null; true") == "auto\n" })
    auto.interrupt()
    auto.waitUntilExit()
    let autoLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(auto.terminationReason == .exit && auto.terminationStatus == 0, "\(autoLog)")
    #expect(autoLog.contains("stopped watching"), "\(autoLog)")

    // 9p: QEMU is not root; a host write is seen in the guest, and the guest's write (as
    // root, then given to the login user) is seen on the host, owned by QEMU's user
    // (mapped: the guest's owner and mode live in xattrs).
    let pid = try String(contentsOfFile: "/run/libvirt/qemu/\(domain).pid", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let qemuUser = try h.run(["ps", "-o", "user=", "-o", "uid=", "-p", pid]).stdout
    #expect(qemuUser.split(separator: " ", omittingEmptySubsequences: true).last == "64055\n", "\(qemuUser)")
    #expect(!qemuUser.hasPrefix("root"), "\(qemuUser)")
    #expect(try guest("cat /mnt/shared/host.txt") == "from the host\n")
    try h.write("later\n", to: "proj/shared/later.txt")
    #expect(try guest("cat /mnt/shared/later.txt") == "later\n")
    _ = try guest(
      "sudo -n sh -c 'echo from the guest > /mnt/shared/guest.txt && chown vagrant: /mnt/shared/guest.txt'; sync")
    #expect(FileManager.default.contents(atPath: project + "/shared/guest.txt") == Data("from the guest\n".utf8))
    #expect(try guest("stat -c %U /mnt/shared/guest.txt") == "vagrant\n", "the guest sees the owner it gave")
    let attributes = try FileManager.default.attributesOfItem(atPath: project + "/shared/guest.txt")
    #expect((attributes[.ownerAccountID] as? NSNumber)?.intValue == 64055, "owned by QEMU's user on the host")

    // Guest root's setuid-root file and device node are plain files on the host.
    let made = try guest(
      "sudo -n sh -c 'cp /bin/true /mnt/shared/suid && chmod 4755 /mnt/shared/suid && mknod /mnt/shared/null c 1 3' && stat -c '%a %F' /mnt/shared/suid && stat -c %F /mnt/shared/null"
    )
    #expect(made == "4755 regular file\ncharacter special file\n", "the guest sees what it made: \(made)")
    var suid = stat()
    var node = stat()
    #expect(stat(project + "/shared/suid", &suid) == 0 && stat(project + "/shared/null", &node) == 0)
    #expect(suid.st_mode & (S_ISUID | S_ISGID) == 0 && suid.st_uid == 64055, "mode \(String(suid.st_mode, radix: 8))")
    #expect(node.st_mode & S_IFMT == S_IFREG, "mode \(String(node.st_mode, radix: 8))")

    // Its memory cannot be saved while the 9p folder is mounted: refused, nothing taken.
    let snapshot = try h.caravan("snapshot", "save", "s1", in: project)
    #expect(snapshot.status == 1, "\(snapshot)")
    #expect(snapshot.stderr.contains("while it runs: its 9p folder './shared' keeps QEMU from saving"), "\(snapshot)")
    let snapshots = try Harness.virsh("snapshot-list", domain, "--name").stdout
    #expect(snapshots.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(snapshots)")

    // reload: boots again, copies what changed meanwhile and mounts 9p again.
    try h.write("new\n", to: "proj/src dir/after-reload.txt")
    let reload = try h.caravan("reload", in: project)
    #expect(reload.status == 0, "\(reload)")
    #expect(try guest("cat /srv/app/after-reload.txt") == "new\n")
    #expect(try guest("mountpoint -q /mnt/shared && cat /mnt/shared/guest.txt") == "from the guest\n")

    // virtiofs without a virtiofsd: refused by name before anything is made.
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      sync "./fs" -> "/srv/fs", type: virtiofs
      """, to: "vfs/Machinefile")
    try h.write("x\n", to: "vfs/fs/x")
    let refused = try h.caravan(
      "up", in: h.root + "/vfs", environment: ["CARAVAN_VIRTIOFSD": h.root + "/no/virtiofsd"])
    #expect(refused.status == 1, "\(refused)")
    #expect(
      refused.stderr.contains("machine 'default': the synced folder './fs -> /srv/fs (virtiofs)' needs virtiofsd"),
      "\(refused)")
    #expect(refused.stderr.contains("`type: 9p`") && refused.stderr.contains("`type: rsync`"), "\(refused)")
    #expect(!refused.stdout.contains("creating domain"), "\(refused)")
    #expect(try h.caravan("status", in: h.root + "/vfs").stdout.contains("not created"))

    // destroy -f: no domain, no volume.
    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(domain))
  }
}
