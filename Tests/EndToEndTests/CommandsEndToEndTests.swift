import Foundation
import TestSupport
import Testing

/// suspend/resume, snapshots, port, ssh-config, reload and global-status on one
/// real QEMU guest (TCG): two boots (`up` and `reload`) check them all, and
/// nothing of the project is left in libvirt afterwards.
@Suite(
  .guestSlot(minutes: 4), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct EndToEndCommands {
  @Test func suspendSnapshotPortSSHConfigReloadAndGlobalStatus() throws {
    let h = try Harness(name: "commands", warm: true)
    defer { h.cleanUp() }
    let project = h.root + "/proj"
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      hostname "commands"
      forward 18080 -> 80
      """, to: "proj/Machinefile")
    #expect(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }

    let up = try h.up(in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    let domain = try #require(
      try h.caravan("status", in: project).stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })

    /// Runs `command` in the guest with `caravan ssh -c` and returns its output lines.
    func guest(_ command: String) throws -> [String] {
      let out = try h.caravan("ssh", "-c", command, in: project)
      #expect(out.status == 0, "\(command): \(out)")
      return out.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    func timed(_ args: String...) throws -> (Harness.Output, Double) {
      let start = Date()
      let out = try h.run([Harness.binary] + args, in: project)
      return (out, Date().timeIntervalSince(start))
    }
    let facts = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f1 /proc/uptime"
    let before = try guest("echo before > marker && sync && " + facts)
    let bootID = try #require(before.first)
    let uptime = try #require(before.last.flatMap(Double.init))

    // suspend: libvirt managed save; the machine is `saved`, the domain shut off with a save image.
    let (suspend, suspendTime) = try timed("suspend")
    #expect(suspend.status == 0 && suspend.stdout.contains("suspended in"), "\(suspend)")
    #expect(try h.caravan("status", in: project).stdout.contains("saved"))
    #expect(try Harness.virsh("domstate", domain).stdout.contains("shut off"))
    #expect(try Harness.virsh("dominfo", domain).stdout.contains(#/Managed save:\s+yes/#))
    let port = try h.caravan("port", in: project)
    #expect(port.status == 1 && port.stderr.contains("it is saved; resume it with `caravan resume`"), "\(port)")

    // resume: the same boot goes on (same boot_id, uptime did not restart), the file is there.
    let (resume, resumeTime) = try timed("resume")
    #expect(resume.status == 0 && resume.stdout.contains("restoring its saved memory"), "\(resume)")
    let after = try guest("cat marker; " + facts)
    #expect(after.first == "before")
    #expect(after.dropFirst().first == bootID, "resume must not boot: \(after)")
    #expect((after.last.flatMap(Double.init) ?? 0) >= uptime, "\(after)")
    let again = try h.caravan("resume", in: project)
    #expect(again.status == 0 && again.stdout.contains("already running"), "\(again)")

    // snapshot save → change → restore: the change is gone and the machine key still logs in.
    let (save, saveTime) = try timed("snapshot", "save", "s1")
    #expect(save.status == 0, "\(save)")
    _ = try guest("echo changed > marker && sync")
    let list = try h.caravan("snapshot", "list", in: project)
    #expect(list.stdout.contains("s1") && list.stdout.contains("running (with memory)"), "\(list)")
    let unknown = try h.caravan("snapshot", "restore", "s9", in: project)
    #expect(unknown.status == 1 && unknown.stderr.contains("has no snapshot 's9'"), "\(unknown)")
    #expect(unknown.stderr.contains("Its snapshots: s1."), "\(unknown)")
    let (restore, restoreTime) = try timed("snapshot", "restore", "s1")
    #expect(restore.status == 0, "\(restore)")
    #expect(try guest("cat marker") == ["before"])
    #expect(try guest("cat /proc/sys/kernel/random/boot_id") == [bootID])
    let key = project + "/.caravan/machines/default/id_ed25519"
    #expect(FileManager.default.fileExists(atPath: key))

    // push → change → pop.
    #expect(try h.caravan("snapshot", "push", in: project).status == 0)
    _ = try guest("echo pushed > marker && sync")
    let pop = try h.caravan("snapshot", "pop", in: project)
    #expect(pop.status == 0 && pop.stdout.contains("snapshot 'push-1' popped"), "\(pop)")
    #expect(try guest("cat marker") == ["before"])
    #expect(try !h.caravan("snapshot", "list", in: project).stdout.contains("push-1"))

    // port: SSH and the forward; --guest gives one host port.
    let ports = try h.caravan("port", in: project)
    let sshPort = try h.caravan("port", "--guest", "22", in: project).stdout.trimmingCharacters(
      in: .whitespacesAndNewlines)
    #expect(ports.stdout.contains("22 (guest) => \(sshPort) (host)"), "\(ports)")
    #expect(ports.stdout.contains("80 (guest) => "), "\(ports)")
    let portsJSON = try h.caravan("port", "--json", in: project).stdout

    // ssh-config, used by plain ssh.
    let config = try h.caravan("ssh-config", in: project)
    #expect(config.status == 0 && config.stdout.hasPrefix("Host default\n"), "\(config)")
    let configFile = h.root + "/ssh-config"
    try config.stdout.write(toFile: configFile, atomically: true, encoding: .utf8)
    let plain = try Harness.exec(
      ["ssh", "-F", configFile, "-o", "BatchMode=yes", "default", "--", "cat", "marker"], in: "/", environment: [:])
    #expect(plain.status == 0 && plain.stdout == "before\n", "\(plain)")

    // reload of a suspended machine: its saved memory is discarded, it boots afresh on the same ports.
    #expect(try h.caravan("suspend", in: project).status == 0)
    let (reload, reloadTime) = try timed("reload")
    #expect(reload.status == 0, "\(reload)")
    #expect(reload.stdout.contains("powered off (its saved memory was discarded)"), "\(reload)")
    #expect(reload.stdout.contains("setting hostname 'commands'"), "\(reload)")
    #expect(try h.caravan("port", "--json", in: project).stdout == portsJSON, "reload keeps the ports")
    let rebooted = try guest("cat marker; hostname; cat /proc/sys/kernel/random/boot_id")
    #expect(rebooted.prefix(2) == ["before", "commands"], "\(rebooted)")
    #expect(rebooted.last != bootID, "reload boots again")

    // global-status: asked live, before and after destroy; --prune drops the project.
    func globalProject() throws -> [String: Any]? {
      let out = try h.caravan("global-status", "--json", in: h.root)
      #expect(out.status == 0, "\(out)")
      let object = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
      return (object?["projects"] as? [[String: Any]])?.first { $0["root"] as? String == project }
    }
    let listed = try #require(try globalProject())
    #expect((listed["machines"] as? [[String: Any]])?.first?["state"] as? String == "running", "\(listed)")
    let table = try h.caravan("global-status", in: h.root)
    #expect(table.stdout.contains("running") && table.stdout.contains(project), "\(table)")

    // A port another program took while the machine was stopped is never a failure (a parallel
    // suite's guest took one in the instant a snapshot's revert restarts QEMU): resume and a
    // snapshot's restore move that forward to a free port, and the record follows.
    let forwardPort = try h.caravan("port", "--guest", "80", in: project).stdout.trimmingCharacters(
      in: .whitespacesAndNewlines)
    #expect(try h.caravan("snapshot", "save", "s2", in: project).status == 0)
    #expect(try h.caravan("suspend", in: project).status == 0)
    // The test's socket holds the port; when another suite's guest took it first, that one does
    // (then it may also let it go before `resume`: the move is checked when the test holds it).
    let heldSSH = try? PortBlocker(port: try #require(Int(sshPort)))
    defer { heldSSH?.close() }
    let resumed = try h.caravan("resume", in: project)
    #expect(resumed.status == 0, "\(resumed)")
    let movedSSH = try h.caravan("port", "--guest", "22", in: project).stdout.trimmingCharacters(
      in: .whitespacesAndNewlines)
    if heldSSH != nil {
      #expect(
        resumed.stdout.contains("host port 127.0.0.1:\(sshPort) for SSH was taken by another program; moving it to"),
        "\(resumed)")
      #expect(movedSSH != sshPort && !movedSSH.isEmpty)
    } else {
      print("commands: host port \(sshPort) was held by another program before the test could hold it")
    }
    #expect(try guest("cat marker") == ["before"])
    // s2 was taken on the old SSH port, still held; its forward's port is held too: both move.
    #expect(try h.caravan("suspend", in: project).status == 0)
    let heldForward = try? PortBlocker(port: try #require(Int(forwardPort)))
    defer { heldForward?.close() }
    let reverted = try h.caravan("snapshot", "restore", "s2", in: project)
    #expect(reverted.status == 0, "\(reverted)")
    let movedPorts = try h.caravan("port", in: project).stdout
    if heldForward != nil {
      #expect(
        reverted.stdout.contains("for forward \(forwardPort) -> 80 was taken by another program"), "\(reverted)")
      #expect(!movedPorts.contains("=> \(forwardPort) (host)"), "\(movedPorts)")
    }
    if heldSSH != nil { #expect(!movedPorts.contains("=> \(sshPort) (host)"), "\(movedPorts)") }
    #expect(try guest("cat marker") == ["before"])
    heldSSH?.close()
    heldForward?.close()

    // A domain with snapshots and saved memory is destroyed with nothing left.
    #expect(try h.caravan("suspend", in: project).status == 0)
    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0 && !destroy.stdout.contains("forcing power-off"), "\(destroy)")
    let gone = try #require(try globalProject())
    #expect((gone["machines"] as? [[String: Any]])?.first?["state"] as? String == "not created", "\(gone)")
    let prune = try h.caravan("global-status", "--prune", in: h.root)
    #expect(prune.status == 0 && prune.stdout.contains("(pruned)"), "\(prune)")
    #expect(try globalProject() == nil)

    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!volumes.contains(domain), "\(volumes)")
    #expect(!FileManager.default.fileExists(atPath: "/var/lib/libvirt/qemu/save/\(domain).save"))
    #expect(!FileManager.default.fileExists(atPath: "/var/lib/libvirt/qemu/snapshot/\(domain)"))
    print(
      String(
        format: "timings: suspend %.1f s, resume %.1f s, snapshot save %.1f s, restore %.1f s, reload %.1f s",
        suspendTime, resumeTime, saveTime, restoreTime, reloadTime))
  }
}
