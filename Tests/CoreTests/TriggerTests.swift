import Foundation
import Spec
import Support
import Testing

@testable import Core

/// Triggers around a command, machine by machine, against the fake hypervisor and guest.
struct TriggerTests {
  static let machinefile = """
    box "caravan/debian-12"
    trigger before: up, run: "echo top"
    machine "a" {
      trigger before: [up, halt], run: "echo before-a"
      trigger after: up, run_remote: "echo after-a"
    }
    machine "b" {
      trigger before: up, run: "false", on_error: continue
      trigger after: up, run: "echo after-b"
      trigger before: halt, run: "false"
    }
    """

  @Test func beforeAndAfterRunAroundEachMachineInFileOrder() throws {
    let f = try Fixture(Self.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.withTriggers("up", f.project.spec.machines) { machines in
      for machine in machines { f.guest.commands.append("up \(machine.name)") }
    }
    #expect(
      f.guest.commands == [
        "trigger before echo top (not running)", "trigger before echo before-a (not running)", "up a",
        "trigger after echo after-a (not running)",
        "trigger before echo top (not running)", "trigger before false (not running)", "up b",
        "trigger after echo after-b (not running)",
      ])
    // b's failing before trigger has on_error: continue: a warning names it, `up` went on.
    #expect(f.reporter.lines.contains { $0.hasPrefix("warning: trigger failed; it has on_error: continue") })
  }

  @Test func aFailingTriggerStopsTheCommandAndNothingAfterItRuns() throws {
    let f = try Fixture(Self.machinefile)
    defer { f.cleanUp() }
    var halted: [String] = []
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.withTriggers("halt", f.project.spec.machines) { machines in halted += machines.map(\.name) }
    }
    #expect(error.message == "trigger failed")
    #expect(halted == ["a"], "b's before trigger failed: b is not halted")
  }

  @Test func afterTriggersDoNotRunWhenTheWorkFailed() throws {
    let f = try Fixture(Self.machinefile)
    defer { f.cleanUp() }
    #expect(throws: CaravanError.self) {
      try f.lifecycle.withTriggers("up", [f.project.spec.machines[0]]) { _ in
        throw CaravanError(.guest, "boom")
      }
    }
    #expect(!f.guest.commands.contains { $0.contains("after-a") })
  }

  @Test func withoutTriggersTheMachinesGoTogether() throws {
    let f = try Fixture(Self.machinefile)
    defer { f.cleanUp() }
    var calls: [[String]] = []
    try f.lifecycle.withTriggers("destroy", f.project.spec.machines) { calls.append($0.map(\.name)) }
    #expect(calls == [["a", "b"]])
  }

  @Test func aRunningMachineGetsItsConnectionAndTheEventsRecordEachTrigger() throws {
    let f = try Fixture(Self.machinefile)
    defer { f.cleanUp() }
    let events = f.root + "/events.jsonl"
    f.lifecycle.events = try EventLog(path: events, project: f.project.root)
    let a = [f.project.spec.machines[0]]
    try f.lifecycle.up(a, provision: nil)
    f.guest.commands.removeAll()
    try f.lifecycle.withTriggers("up", a) { _ in }
    #expect(f.guest.commands.contains("trigger after echo after-a"))
    let log = try String(contentsOfFile: events, encoding: .utf8)
    #expect(log.contains(#""step":"trigger""#) && log.contains("after up (Machinefile:5)"), "\(log)")
  }
}
