import Foundation
import Testing

/// Two `up`s of one project at once, in a folder whose path has a space, a
/// quote and a `%`; and two projects whose box imports overlap.
@Suite(.serialized, .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct ConcurrencyTests {
  @Test func twoUpsOfOneProjectInAnAwkwardPathDefineOneMachine() throws {
    let f = try Faults(name: "we ird 'q' %p")
    defer { f.cleanUp() }
    let h = f.h
    try #require(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? h.caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }
    let first = try h.spawn(["up"], in: f.project, log: h.root + "/first.log")
    let second = try h.spawn(["up"], in: f.project, log: h.root + "/second.log")
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
    try f.destroyLeavesNothing()
  }

  @Test func twoProjectsImportTheirBoxesAtTheSameTime() throws {
    let h = try Harness(name: "imports")
    defer { h.cleanUp() }
    for name in ["one", "two"] {
      let add = try h.caravan("box", "add", "e2e/\(name)", Harness.boxFile, in: h.root)
      try #require(add.status == 0, "\(add)")
      try h.write("box \"e2e/\(name)\"\nmemory 512MiB\n", to: "\(name)/Machinefile")
    }
    defer {
      for name in ["one", "two"] {
        _ = try? h.caravan("destroy", "-f", in: h.root + "/" + name)
        _ = try? h.caravan("box", "remove", "e2e/\(name)", "--force", in: h.root)
      }
    }
    // Each stops itself before booting (no guest needed): only the imports matter.
    let processes = try ["one", "two"].map { name in
      try h.spawn(
        ["up", "--events", h.root + "/\(name).jsonl"], in: h.root + "/" + name, log: h.root + "/\(name).log",
        environment: ["CARAVAN_FAULT_INJECT": "start:start"])
    }
    for process in processes { process.waitUntilExit() }
    let spans = try ["one", "two"].map { name -> (start: Date, end: Date) in
      let lines = try String(contentsOfFile: h.root + "/\(name).jsonl", encoding: .utf8).split(separator: "\n")
      let times = try lines.compactMap { line -> (String, Date)? in
        let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        guard event["step"] as? String == "import_box", let phase = event["phase"] as? String,
          let time = (event["time"] as? String).flatMap(Faults.date)
        else { return nil }
        return (phase, time)
      }
      let start = try #require(times.first { $0.0 == "start" }?.1)
      let end = try #require(times.first { $0.0 == "end" }?.1)
      return (start, end)
    }
    // The imports overlap: neither waited for the other's to end.
    #expect(spans[0].start < spans[1].end && spans[1].start < spans[0].end, "\(spans)")
  }
}
