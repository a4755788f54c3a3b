import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// `.caravan/` against libvirt: drift, interrupted first `up`s, failed first
/// `up`s and events, against the fake hypervisor.
struct ReconcileTests {
  static let machinefile = """
    box "caravan/debian-12"
    hostname "web.local"
    provision shell, name: "first", inline: "true"
    provision shell, name: "every", inline: "true", run: always
    """

  @Test func aRecordFromAnotherURIIsRefusedNamingBothAndKept() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    f.hypervisor.uri = "qemu:///session"
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.halt(f.project.spec.machines, force: true) }
    #expect(error.message.contains("was made on libvirt 'fake:///'"), "\(error)")
    #expect(error.message.contains("this command uses 'qemu:///session'"), "\(error)")
    #expect(error.hint?.contains("CARAVAN_LIBVIRT_URI=fake:///") == true)
    #expect(throws: CaravanError.self) { try f.lifecycle.destroy(f.project.spec.machines) }
    #expect(FileManager.default.fileExists(atPath: f.project.recordPath("default")), "the record is kept")
    #expect(FileManager.default.fileExists(atPath: f.project.keyPath("default")), "the key is kept")
  }

  @Test func aDeletedStateFolderIsAdoptedFromLibvirtWithItsKeyAndProgress() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let key = try Data(contentsOf: URL(fileURLWithPath: f.project.keyPath("default")))
    let before = try #require(try f.project.loadRecord("default"))
    try FileManager.default.removeItem(atPath: f.project.stateDirectory)
    f.guest.commands.removeAll()

    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("without state in .caravan/; adopted it") })
    let after = try #require(try f.project.loadRecord("default"))
    #expect(after.domainUUID == before.domainUUID && after.sshPort == before.sshPort)
    #expect(after.keyReplaced && after.provisioned == before.provisioned)
    #expect(try Data(contentsOf: URL(fileURLWithPath: f.project.keyPath("default"))) == key, "the same key")
    #expect(
      f.guest.commands.filter { $0.hasPrefix("provision") || $0.hasPrefix("replaceKey") } == ["provision every"],
      "nothing done twice: only the `always` provisioner")
  }

  @Test func anInterruptedFirstUpIsFinishedByTheNext() throws {
    let f = try Fixture(ReconcileTests.machinefile + "\nboot_timeout 1s\n")
    defer { f.cleanUp() }
    // The first `up` is killed once the domain runs: the record says so.
    f.guest.ready = false
    let machine = f.project.spec.machines[0]
    #expect(throws: CaravanError.self) {
      try f.lifecycle.up([machine], options: UpOptions(destroyOnError: false))
    }
    let record = try #require(try f.project.loadRecord("default"))
    #expect(record.firstUp != .finished)
    f.guest.ready = true
    f.guest.commands.removeAll()
    try f.lifecycle.up([machine], options: UpOptions())
    #expect(f.reporter.lines.contains { $0.contains("finishing its first `up`") })
    #expect(f.guest.commands.contains { $0.contains("hostname web.local") }, "\(f.guest.commands)")
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
    #expect(try f.project.loadRecord("default")?.firstUp == .finished)
  }

  @Test func aFailedFirstUpRemovesWhatItMadeUnlessAskedNotTo() throws {
    let f = try Fixture(ReconcileTests.machinefile + "\nboot_timeout 1s\n")
    defer { f.cleanUp() }
    f.guest.ready = false
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(error.kind == .timeout)
    #expect(error.hint?.contains("The machine was removed") == true, "\(error)")
    #expect(error.hint?.contains("-console.log") == true, "\(error)")
    #expect(f.hypervisor.domains.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: f.project.machineDirectory("default")))

    #expect(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: UpOptions(destroyOnError: false))
    }
    #expect(f.hypervisor.domains.count == 1, "kept to look at")
  }

  @Test func aDeletedDiskStartsTheMachineAgainFromTheBox() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    try f.lifecycle.halt(f.project.spec.machines, force: true)
    f.hypervisor.missingDisks.insert(f.project.domainName(for: "default"))  // `virsh vol-delete` by hand
    f.guest.commands.removeAll()
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("its disk is gone from the storage pool") })
    #expect(f.guest.commands.contains { $0.hasPrefix("replaceKey") }, "the new disk has the box's key again")
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
  }

  @Test func destroyRemovesDisksEvenWithoutADomain() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(f.hypervisor.calls == ["remove \(f.project.domainName(for: "default"))"])
  }

  @Test func eventsAreJSONLinesWithPhasesAndDurations() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    let path = f.root + "/events.jsonl"
    f.lifecycle.events = try EventLog(path: path, project: f.project.root)
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    let steps = events.map { "\($0["step"] ?? "") \($0["phase"] ?? "")" }
    #expect(steps.first == "up start" && steps.last == "up end", "\(steps)")
    for step in ["define", "start", "wait_ssh", "replace_key", "hostname", "provision"] {
      #expect(steps.contains("\(step) end"), "\(step) in \(steps)")
    }
    let end = try #require(events.last)
    #expect(end["outcome"] as? String == "ok" && end["duration_s"] is Double && end["machine"] as? String == "default")
    #expect(end["project"] as? String == f.project.root && end["time"] is String)
  }

  @Test func provisionWithPicksByNameOrTypeAndNamesUnknownOnes() throws {
    let f = try Fixture(ReconcileTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, options: UpOptions(provisionWith: ["every"]))
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision every"])
    f.guest.commands.removeAll()
    try f.lifecycle.provision(f.project.spec.machines, only: ["shell"])
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.provision(f.project.spec.machines, only: ["nope"])
    }
    #expect(error.message == "machine 'default' has no provisioner named 'nope'")
    #expect(error.hint == "Its provisioners: first (shell), every (shell).")
  }
}

struct TargetTests {
  @Test func namesAndRegexesPickMachinesInFileOrder() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      machine "db" {}
      machine "web", count: 3 {}
      """)
    defer { f.cleanUp() }
    #expect(try f.project.machines(named: ["/web-[23]/", "db"]).map(\.name) == ["db", "web-2", "web-3"])
    #expect(try f.project.machines(named: ["/^web/"]).map(\.name) == ["web-1", "web-2", "web-3"])
    #expect(try f.project.machines(named: []).count == 4)
    let none = try #require(throws: CaravanError.self) { try f.project.machines(named: ["/api/"]) }
    #expect(none.message.hasPrefix("no machine matching /api/ in "))
    #expect(none.hint == "Machines defined there: db, web-1, web-2, web-3.")
    let bad = try #require(throws: CaravanError.self) { try f.project.machines(named: ["/web-(/"]) }
    #expect(bad.message.hasPrefix("'/web-(/' is not a valid regular expression"))
  }
}

struct PortMemoryTests {
  @Test func aMovedForwardKeepsItsPortAcrossHaltAndUp() throws {
    // Hold a port so the forward must move off it.
    let held = HeldPort()
    defer { held.close() }
    let busy = held.port
    let f = try Fixture("box \"caravan/debian-12\"\nforward \(busy) -> 80\n")
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let first = try #require(try f.project.loadRecord("default")?.forwards.last)
    #expect(first.host != busy && PortAllocator.correctionRange.contains(first.host))
    // As if lower ports of the range had been busy then: it moved to the range's end.
    let moved = try #require(
      PortAllocator.correctionRange.reversed().first { PortAllocator.canBind(.tcp, "127.0.0.1", $0) })
    var record = try #require(try f.project.loadRecord("default"))
    record.forwards[record.forwards.count - 1] = try #require(ResolvedForward(parsing: "tcp 127.0.0.1:\(moved) -> 80"))
    try f.project.saveRecord(record, for: "default")
    try f.lifecycle.halt(f.project.spec.machines, force: true)
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let second = try #require(
      try f.project.loadRecord("default")?.forwards.last)
    #expect(second.host == moved, "the forward kept the port it had moved to, not the first free one")
    #expect(
      ResolvedForward(parsing: "tcp ::1:8080 -> 80")
        == ResolvedForward(transport: .tcp, hostIP: "::1", host: 8080, guest: 80))
  }
}
