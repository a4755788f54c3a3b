import Foundation
import Testing

/// Issue 11's parallel `up` on real guests: three machines, two at a time, one with a
/// broken provisioner; the two others come up, the broken one (new) is removed, and
/// the summary and exit status say so. Then the default bound is said, `ssh` picks the
/// primary, a name reaches the other, and one `destroy -f` leaves nothing.
@Suite(
  .guestSlots(2, minutes: 3), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct MultiMachineEndToEnd {
  @Test func parallelUpOfThreeWithOneBrokenProvisioner() throws {
    let h = try Harness(name: "multi")
    defer { h.cleanUp() }
    try #require(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }
    let project = h.root + "/multi"
    try h.write(
      """
      box "caravan/debian-12"
      memory 512MiB
      boot_timeout 10m

      machine "web", primary: true {
        provision shell, name: "mark", inline: "echo web-was-here > /var/tmp/who"
      }
      machine "db" {
        provision shell, name: "broken", inline: "echo db is about to fail; exit 3"
      }
      machine "cache" {
        provision shell, name: "mark", inline: "echo cache-was-here > /var/tmp/who"
      }
      """, to: "multi/Machinefile")
    let prefix = "caravan-multi-"
    defer { _ = try? h.caravan("destroy", "-f", in: project) }

    // Two at a time: three TCG guests at once on a 2-core host are too slow to be a fair test.
    let up = try h.caravan("up", "--parallel", "2", "--events", h.root + "/events.jsonl", in: project)
    #expect(up.status != 0, "a machine failed, so up fails: \(up)")
    #expect(up.stdout.contains("==> bringing up 3 machines, 2 at a time (--parallel 2)"), "\(up)")
    #expect(up.stdout.contains("    db: db is about to fail"), "the guest's output, prefixed: \(up)")
    #expect(up.stdout.contains("==> 2 of 3 machines are up; 1 failed:"), "\(up)")
    #expect(
      up.stdout.contains("==>   db: provisioner 'broken' of machine 'db' failed with exit status 3"), "\(up)")
    #expect(up.stderr.contains("1 of 3 machines did not come up: db"), "\(up)")
    #expect(up.stderr.contains("caravan up db"), "the fix is named: \(up)")

    // The first two booted together: their SSH waits overlap; the third waited for a free worker.
    let spans = try Self.spans(of: "wait_ssh", in: h.root + "/events.jsonl")
    let web = try #require(spans["web"], "\(spans)")
    let db = try #require(spans["db"], "\(spans)")
    let cache = try #require(spans["cache"], "\(spans)")
    #expect(web.start < db.end && db.start < web.end, "web \(web), db \(db)")
    #expect(cache.start >= min(web.end, db.end), "cache \(cache), web \(web), db \(db)")

    // Two running; nothing of db (it was new): no domain, no disk, no state.
    let domains = try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
      .filter { $0.hasPrefix(prefix) }
    #expect(domains.count == 2, "\(domains)")
    #expect(domains.allSatisfy { $0.contains("-web-") || $0.contains("-cache-") }, "\(domains)")
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(prefix + "db-"), "db's disk is left")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/db"), "db's state is left")
    let status = try h.caravan("status", in: project)
    #expect(status.stdout.contains("db") && status.stdout.contains("not created"), "\(status)")

    // Without --parallel the bound comes from the host, and `up` says which and why.
    let again = try h.caravan("up", "web", "cache", in: project)
    #expect(again.status == 0, "\(again)")
    #expect(again.stdout.contains("==> bringing up 2 machines, "), "\(again)")
    if ProcessInfo.processInfo.activeProcessorCount < 4 {
      #expect(again.stdout.contains("one at a time (guests run under TCG"), "\(again)")
    }
    #expect(again.stdout.contains("==> all 2 machines are up"), "\(again)")

    // ssh: the primary without a name, the other by name; each was provisioned.
    let primary = try h.caravan("ssh", "-c", "cat /var/tmp/who", in: project)
    #expect(primary.status == 0 && primary.stdout == "web-was-here\n", "\(primary)")
    let named = try h.caravan("ssh", "cache", "-c", "cat /var/tmp/who", in: project)
    #expect(named.status == 0 && named.stdout == "cache-was-here\n", "\(named)")

    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(prefix), "a domain is left")
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(prefix), "a volume is left")
  }

  /// Each machine's start and end of `step`, from an events file.
  static func spans(of step: String, in path: String) throws -> [String: (start: Date, end: Date)] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var starts: [String: Date] = [:]
    var spans: [String: (start: Date, end: Date)] = [:]
    for line in text.split(separator: "\n") {
      guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        event["step"] as? String == step, let machine = event["machine"] as? String,
        let time = (event["time"] as? String).flatMap(Faults.date)
      else { continue }
      if event["phase"] as? String == "start" {
        starts[machine] = time
      } else if let start = starts[machine] {
        spans[machine] = (start, time)
      }
    }
    return spans
  }
}
