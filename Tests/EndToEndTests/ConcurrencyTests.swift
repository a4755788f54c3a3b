import Foundation
import Testing

/// Two `up`s of one project at once, in a folder whose path has a space, a
/// quote and a `%`; and two projects whose box imports overlap.
@Suite(
  .guestSlot(minutes: 1), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct ConcurrencyTests {
  @Test func twoUpsOfOneProjectInAnAwkwardPathDefineOneMachine() throws {
    // Warm: what is tested is the project's lock and one definition, not the boot.
    let f = try Faults(name: "we ird 'q' %p", warm: true)
    defer { f.cleanUp() }
    let h = f.h
    try #require(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }
    let first = try h.spawn(h.upCommand, in: f.project, log: h.root + "/first.log")
    let second = try h.spawn(h.upCommand, in: f.project, log: h.root + "/second.log")
    first.waitUntilExit()
    second.waitUntilExit()
    let logs = [h.root + "/first.log", h.root + "/second.log"].map {
      (try? String(contentsOfFile: $0, encoding: .utf8)) ?? ""
    }
    #expect(first.terminationStatus == 0 && second.terminationStatus == 0, "\(logs)")
    #expect(
      logs.filter { $0.contains("another caravan command is working on this project") }.count == 1,
      "one waited: \(logs)")
    #expect(logs.filter { $0.contains("creating domain") }.count == 1, "defined once: \(logs)")
    let domains = try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").filter {
      $0.hasPrefix("caravan-we-ird--q---p-default-")
    }
    #expect(domains.count == 1, "\(domains)")
    try f.getsIn(provisionedOnce: true)
    try twoSSHsDuringADestroyWaitForItAndAdoptNothing(f)
    try f.destroyLeavesNothing()
  }

  /// Two `caravan ssh -c` while a `destroy -f` holds the project (its before-trigger keeps
  /// it there for 3 s): they wait for it, then fail cleanly, and nothing of the machine
  /// comes back (no state adopted again, no key restored into `.caravan/`).
  func twoSSHsDuringADestroyWaitForItAndAdoptNothing(_ f: Faults) throws {
    let h = f.h
    let started = f.project + "/destroy-started"
    try h.write(
      f.machinefile + "trigger before: destroy, run: \"touch destroy-started; sleep 3\"\n",
      to: (f.project as NSString).lastPathComponent + "/Machinefile")
    let destroy = try h.spawn(["destroy", "-f"], in: f.project, log: h.root + "/destroy.log")
    while destroy.isRunning && !FileManager.default.fileExists(atPath: started) { Thread.sleep(forTimeInterval: 0.02) }
    let sshs = try (1...2).map { index in
      try h.spawn(["ssh", "-c", "echo in"], in: f.project, log: h.root + "/ssh\(index).log")
    }
    destroy.waitUntilExit()
    for ssh in sshs { ssh.waitUntilExit() }
    let logs = (1...2).map { (try? String(contentsOfFile: h.root + "/ssh\($0).log", encoding: .utf8)) ?? "" }
    #expect(destroy.terminationStatus == 0)
    for (ssh, log) in zip(sshs, logs) {
      #expect(ssh.terminationStatus == 1, "\(log)")
      #expect(log.contains("waiting for it to finish"), "it waited for the destroy: \(log)")
      #expect(log.contains("cannot ssh into machine 'default': it is not created"), "\(log)")
    }
    #expect(!FileManager.default.fileExists(atPath: f.project + "/.caravan/machines/default"), "nothing adopted")
    let copies = (try? FileManager.default.contentsOfDirectory(atPath: h.home + "/keys/machines")) ?? []
    #expect(!copies.contains { $0.hasPrefix(f.domainPrefix) }, "\(copies)")
    try h.write(f.machinefile, to: (f.project as NSString).lastPathComponent + "/Machinefile")
  }

  @Test func twoProjectsImportTheirBoxesAtTheSameTime() throws {
    let h = try Harness(name: "imports")
    defer { h.cleanUp() }
    // Box "one" has a 2 GiB (sparse) image, so its import into the pool takes
    // seconds; box "two" is the small test box. No guest boots: each `up` stops
    // itself before starting its domain, and only the imports matter.
    let big = try Harness.exec(
      [
        "sh", "-c",
        "mkdir -p big && cd big && printf '{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":2}' > metadata.json && truncate -s 2G box.img && tar -S -cf ../big.box metadata.json box.img",
      ], in: h.root, environment: ProcessInfo.processInfo.environment)
    try #require(big.status == 0, "\(big)")
    for (name, file) in [("one", h.root + "/big.box"), ("two", Harness.boxFile)] {
      let add = try h.caravan("box", "add", "e2e/\(name)", file, in: h.root)
      try #require(add.status == 0, "\(add)")
      try h.write("box \"e2e/\(name)\"\nmemory 512MiB\n", to: "\(name)/Machinefile")
    }
    defer {
      for name in ["one", "two"] {
        _ = try? h.caravan("destroy", "-f", in: h.root + "/" + name)
        _ = try? h.caravan("box", "remove", "e2e/\(name)", "--force", in: h.root)
      }
    }
    func up(_ name: String) throws -> Process {
      try h.spawn(
        ["up", "--events", h.root + "/\(name).jsonl"], in: h.root + "/" + name, log: h.root + "/\(name).log",
        environment: ["CARAVAN_FAULT_INJECT": "start:start"])
    }
    func importSpan(_ name: String) throws -> (start: Date?, end: Date?) {
      let text = (try? String(contentsOfFile: h.root + "/\(name).jsonl", encoding: .utf8)) ?? ""
      var span: (start: Date?, end: Date?) = (nil, nil)
      for line in text.split(separator: "\n") {
        guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          event["step"] as? String == "import_box", let time = (event["time"] as? String).flatMap(Faults.date)
        else { continue }
        if event["phase"] as? String == "start" { span.start = time } else { span.end = time }
      }
      return span
    }
    // The second project starts once the first one's long import is under way.
    let first = try up("one")
    while first.isRunning, try importSpan("one").start == nil { Thread.sleep(forTimeInterval: 0.05) }
    let second = try up("two")
    first.waitUntilExit()
    second.waitUntilExit()
    let one = try importSpan("one")
    let two = try importSpan("two")
    let oneEnd = try #require(one.end, "\(one)")
    let twoStart = try #require(two.start, "\(two)")
    let twoEnd = try #require(two.end, "\(two)")
    // The second import ran (and ended) inside the first one: it did not wait for it.
    #expect(twoStart < oneEnd && twoEnd < oneEnd, "one: \(one), two: \(two)")
  }
}
