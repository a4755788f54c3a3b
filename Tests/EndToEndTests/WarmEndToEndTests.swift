import Foundation
import Testing

/// Issue 12's warm `up` on real guests. `box warm` saves the box's state once; two
/// machines restore it together and each gets its own identity (machine-id, host
/// keys, hostname, clock), its provisioner and a disk of its own; snapshot, suspend
/// and resume, halt and up behave as for a booted machine; another memory size
/// remakes the state and says why (two sizes at once); a truncated state falls back to a cold boot, says
/// so and is removed; one `destroy -f` leaves nothing.
@Suite(
  .guestSlots(2, minutes: 6), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct WarmEndToEnd {
  @Test func warmStartsFromTheBoxsSavedState() throws {
    let h = try Harness(name: "warm")
    defer { h.cleanUp() }
    try #require(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }
    let project = h.root + "/wproj"
    try h.write(
      """
      box "caravan/debian-12"
      memory 512MiB
      boot_timeout 10m

      machine "web" {
        provision shell, name: "mark", inline: "echo web-was-here > /var/tmp/who"
      }
      machine "db" {
        hostname "db.warm.test"
        provision shell, name: "mark", inline: "echo db-was-here > /var/tmp/who"
      }
      machine "late", autostart: false {
      }
      """, to: "wproj/Machinefile")
    defer { _ = try? h.caravan("destroy", "-f", in: project) }

    // The state, made ahead of time; a second `box warm` finds it fits.
    let warm = try h.caravan("box", "warm", "caravan/debian-12", "--memory", "512MiB", "--cpus", "1", in: h.root)
    #expect(warm.status == 0, "\(warm)")
    #expect(warm.stdout.contains("now has a warm state"), "\(warm)")
    let again = try h.caravan("box", "warm", "caravan/debian-12", "--memory", "512", in: h.root)
    #expect(again.status == 0 && again.stdout.contains("already has a warm state"), "\(again)")
    let list = try h.caravan("box", "list", in: h.root)
    #expect(list.stdout.contains("warm state ") && list.stdout.contains("(1 CPU, 512 MiB)"), "\(list)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains("caravan.warm-"), "the template is gone")

    // Two machines restore it, together.
    let up = try h.caravan("up", "--warm", in: project)
    #expect(up.status == 0, "\(up)")
    #expect(up.stdout.contains("==> bringing up 2 machines, 2 at a time (warm starts restore"), "\(up)")
    #expect(up.stdout.contains("web: restored from the warm state in"), "\(up)")
    #expect(up.stdout.contains("db: restored from the warm state in"), "\(up)")
    #expect(!up.stdout.contains("making it now"), "the saved state fitted: \(up)")

    func guest(_ machine: String, _ command: String) throws -> String {
      let result = try h.caravan("ssh", machine, "-c", command, in: project)
      #expect(result.status == 0, "\(machine): \(command): \(result)")
      return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let identity = "cat /etc/machine-id; hostname; sudo cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2; date +%s"
    let web = try guest("web", identity).split(separator: "\n").map(String.init)
    let db = try guest("db", identity).split(separator: "\n").map(String.init)
    try #require(web.count == 4 && db.count == 4, "web \(web), db \(db)")
    #expect(web[0] != db[0], "machine-ids: \(web[0]) \(db[0])")
    #expect(web[0].count == 32)
    #expect(web[1] == "web" && db[1] == "db.warm.test", "hostnames: \(web[1]) \(db[1])")
    #expect(web[2] != db[2], "host keys")
    let now = Date().timeIntervalSince1970
    for clock in [web[3], db[3]] {
      #expect(abs((Double(clock) ?? 0) - now) < 60, "the guest's clock \(clock) is the host's \(now)")
    }
    // Each restored domain has its own VM generation ID, and the guest has the device.
    func genid(_ machine: String) throws -> String {
      let status = try h.caravan("status", machine, in: project).stdout
      let domain = try #require(status.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })
      let xml = try Harness.virsh("dumpxml", domain).stdout
      let start = try #require(xml.range(of: "<genid>"), "\(xml)")
      return String(xml[start.upperBound...].prefix { $0 != "<" })
    }
    let (webGenid, dbGenid) = (try genid("web"), try genid("db"))
    #expect(webGenid.count == 36 && dbGenid.count == 36 && webGenid != dbGenid, "genids: \(webGenid) \(dbGenid)")
    #expect(try guest("web", "ls /sys/bus/acpi/devices | grep -c QEMUVGID") == "1")
    // The key the user logs in with is the machine's own; the host key sshd shows is the new one.
    let scan = try h.run(["ssh-keyscan", "-t", "ed25519", "-p", try port("web", project, h), "127.0.0.1"])
    #expect(scan.stdout.contains(web[2]), "sshd serves the new host key: \(scan)")
    #expect(try guest("web", "cat /var/tmp/who") == "web-was-here")
    #expect(try guest("db", "cat /var/tmp/who") == "db-was-here")
    _ = try guest("web", "echo only-web > /var/tmp/only-web && sync")
    #expect(try guest("db", "test -e /var/tmp/only-web && echo shared || echo own") == "own")

    // Snapshot, suspend/resume, halt/up: as for a booted machine.
    #expect(try h.caravan("snapshot", "save", "web", "s1", in: project).status == 0)
    _ = try guest("web", "touch /var/tmp/after-s1 && sync")
    #expect(try h.caravan("snapshot", "restore", "web", "s1", in: project).status == 0)
    #expect(try guest("web", "test -e /var/tmp/after-s1 && echo kept || echo gone") == "gone")
    let snapshots = try h.caravan("snapshot", "list", "web", in: project)
    #expect(snapshots.stdout.contains("s1") && !snapshots.stdout.contains("caravan-warm"), "\(snapshots)")
    #expect(try h.caravan("suspend", "db", in: project).status == 0)
    #expect(try h.caravan("status", "db", in: project).stdout.contains("saved"))
    #expect(try h.caravan("resume", "db", in: project).status == 0)
    #expect(try guest("db", "cat /etc/machine-id") == db[0])
    #expect(try h.caravan("halt", "web", in: project).status == 0)
    let boot = try h.caravan("up", "web", in: project)
    #expect(boot.status == 0 && boot.stdout.contains("booting domain"), "a halted machine boots its own disk: \(boot)")
    #expect(try guest("web", "cat /etc/machine-id; cat /var/tmp/only-web") == web[0] + "\nonly-web")

    // Another memory size remakes the state and says why: `twoWarmUpsOfOtherSizesAtOnce`.

    // A truncated state: `up` finds it short, says so, removes it and boots cold.
    let listed = try h.caravan("box", "list", "--json", in: h.root).stdout
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
    let state = try #require((rows.first?["warm"] as? [[String: Any]])?.first, "\(listed)")
    let volume = try #require(state["volume"] as? String)
    #expect(state["memory_mib"] as? Int == 512)
    let path = try Harness.virsh("vol-path", "--pool", "caravan", volume).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(truncate(path, 64 << 20) == 0, "truncate \(path)")
    let late = try h.caravan("up", "--warm", "late", in: project)
    #expect(late.status == 0, "\(late)")
    #expect(
      late.stderr.contains("is damaged: its volume") && late.stderr.contains("Falling back to a cold boot"), "\(late)")
    #expect(late.stdout.contains("late: SSH is up after"), "\(late)")
    #expect(try guest("late", "hostname").isEmpty == false)
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(volume), "the damaged state is removed")
    #expect(!(try h.caravan("box", "list", in: h.root).stdout.contains("warm state")))

    // One destroy leaves nothing.
    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    let prefix = "caravan-wproj-"
    for listing in [try Harness.virsh("list", "--all", "--name"), try Harness.virsh("vol-list", "caravan")] {
      #expect(!listing.stdout.contains(prefix), "\(listing)")
    }
    // No warm-state guest of this project is left (other suites' may run meanwhile: each
    // names its project in its description).
    let templates = try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n")
      .filter { $0.hasPrefix("caravan.warm-") }
    for template in templates {
      let description = try Harness.virsh("desc", String(template)).stdout
      #expect(!description.contains(project), "\(template) is this project's: \(description)")
    }
  }

  /// Two projects `up --warm` at the same time, with different memory (the box has no
  /// state yet): one makes its state and restores it; the other waits for it (the state's
  /// lock covers the copy), then makes its own, saying why. Both start warm; neither falls
  /// back to a cold boot because its state was swapped or discarded under it.
  @Test func twoWarmUpsOfOtherSizesAtOnce() throws {
    let h = try Harness(name: "warm2")
    defer { h.cleanUp() }
    try #require(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }
    let projects = [("wa", 512), ("wb", 576)]
    for (name, memory) in projects {
      try h.write("box \"caravan/debian-12\"\nmemory \(memory)MiB\nboot_timeout 10m\n", to: "\(name)/Machinefile")
    }
    defer { for (name, _) in projects { _ = try? h.caravan("destroy", "-f", in: h.root + "/" + name) } }
    let started = Date()
    let ups = try projects.map { name, _ in
      try h.spawn(["up", "--warm"], in: h.root + "/" + name, log: h.root + "/\(name).log")
    }
    for up in ups { up.waitUntilExit() }
    print("warm: two warm ups of other sizes at once took \(Int(Date().timeIntervalSince(started))) s")
    let logs = projects.map { (try? String(contentsOfFile: h.root + "/\($0.0).log", encoding: .utf8)) ?? "" }
    for (up, log) in zip(ups, logs) {
      #expect(up.terminationStatus == 0, "\(log)")
      #expect(log.contains("restored from the warm state in"), "it started warm: \(log)")
      #expect(!log.lowercased().contains("falling back to a cold boot"), "\(log)")
    }
    // The one that waited found the other's state and says why it does not fit.
    let unfit = logs.filter { $0.contains("does not fit this machine (it has ") }
    #expect(unfit.count == 1, "one up remade the other's state: \(logs)")
    #expect(
      unfit.first.map {
        $0.contains("(it has 512 MiB of memory, the machine 576 MiB)")
          || $0.contains("(it has 576 MiB of memory, the machine 512 MiB)")
      } == true, "\(unfit)")
    #expect(logs.allSatisfy { $0.contains("making it now") }, "\(logs)")
    for (name, _) in projects {
      let ssh = try h.caravan("ssh", "-c", "hostname", in: h.root + "/" + name)
      #expect(ssh.status == 0 && ssh.stdout == "default\n", "\(name): \(ssh)")
    }
    // The state on record is the last one made, whole.
    let listed = try h.caravan("box", "list", "--json", in: h.root).stdout
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
    let states = (rows.first?["warm"] as? [[String: Any]]) ?? []
    #expect(states.count == 1 && [512, 576].contains(states.first?["memory_mib"] as? Int ?? 0), "\(listed)")
  }

  /// The machine's forwarded SSH port, from `caravan port`.
  func port(_ machine: String, _ project: String, _ h: Harness) throws -> String {
    let ports = try h.caravan("ssh-config", machine, in: project).stdout
    let line = ports.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Port ") }
    return line.map { String($0.trimmingCharacters(in: .whitespaces).dropFirst(5)) } ?? "22"
  }
}
