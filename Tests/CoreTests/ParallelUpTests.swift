import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// A multi-machine `up` against the fakes: machines come up on parallel workers within
/// the bound, one machine's failure stops only that machine, and the summary names it.
struct ParallelUpTests {
  static let machinefile = """
    box "caravan/debian-12"
    machine "web" {
      cpus 1
    }
    machine "db" {
      provision shell, name: "broken", inline: "exit 3"
    }
    machine "cache" {
      cpus 1
    }
    """

  @Test func oneBrokenMachineStopsOnlyItselfAndTheSummaryNamesIt() throws {
    let f = try Fixture(ParallelUpTests.machinefile)
    defer { f.cleanUp() }
    f.guest.probeSeconds = 0.3
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: UpOptions(parallel: 3))
    }
    #expect(error.message == "1 of 3 machines did not come up: db")
    #expect(error.hint?.contains("caravan up db") == true)
    #expect(error.hint?.contains("caravan destroy -f db") == true)
    #expect(f.guest.mostProbingAtOnce > 1, "the machines waited for SSH at the same time")
    let statuses = try f.lifecycle.status(f.project.spec.machines).map { "\($0.name) \($0.status)" }
    #expect(statuses == ["web running", "db not created", "cache running"])
    // The failed machine was new: nothing of it is left.
    #expect(try f.project.loadRecord("db") == nil)
    #expect(f.hypervisor.calls.contains("remove \(f.project.domainName(for: "db"))"))
    #expect(try f.project.loadRecord("web")?.firstUp == .finished)
    let lines = f.reporter.lines
    #expect(lines.contains("caravan: bringing up 3 machines, 3 at a time (--parallel 3)"))
    #expect(lines.contains("caravan: 2 of 3 machines are up; 1 failed:"))
    #expect(lines.contains("caravan:   db: provisioner 'broken' (shell) exited with status 3"))
    #expect(lines.last == "caravan:   db: provisioner 'broken' (shell) exited with status 3", "the summary comes last")
  }

  @Test func parallelOneBringsMachinesUpInOrderOneAtATime() throws {
    let f = try Fixture(ParallelUpTests.machinefile.replacingOccurrences(of: "broken", with: "fine"))
    defer { f.cleanUp() }
    f.guest.probeSeconds = 0.05
    try f.lifecycle.up(f.project.spec.machines, options: UpOptions(parallel: 1))
    #expect(f.guest.mostProbingAtOnce == 1)
    let starts = f.hypervisor.calls.filter { $0.hasPrefix("start ") }
    #expect(starts == ["web", "db", "cache"].map { "start \(f.project.domainName(for: $0))" })
    #expect(f.reporter.lines.last == "caravan: all 3 machines are up")
  }

  @Test func oneMachineKeepsItsOwnErrorAndPrintsNoSummary() throws {
    let f = try Fixture("box \"caravan/debian-12\"\nprovision shell, name: \"broken-one\", inline: \"exit 3\"\n")
    defer { f.cleanUp() }
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines) }
    #expect(error.message == "provisioner 'broken-one' (shell) exited with status 3")
    #expect(!f.reporter.lines.contains { $0.hasPrefix("caravan:") })
  }

  @Test func triggersRunAroundEachMachineOnItsWorker() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      machine "a" {
        trigger before: up, run: "echo a-before"
        trigger after: up, run: "echo a-after"
      }
      machine "b" {
        provision shell, name: "broken", inline: "exit 3"
        trigger after: up, run: "echo b-after"
      }
      """)
    defer { f.cleanUp() }
    _ = try? f.lifecycle.up(f.project.spec.machines, options: UpOptions(parallel: 2))
    let triggers = f.guest.commands.filter { $0.hasPrefix("trigger") }
    #expect(triggers.contains("trigger before echo a-before (not running)"))
    #expect(triggers.contains("trigger after echo a-after (not running)"))
    #expect(!triggers.contains { $0.contains("b-after") }, "after triggers do not run for a machine that failed")
  }

  // MARK: The default bound

  static func machines(_ count: Int, cpus: Int = 1, memory: String = "1GiB") throws -> [MachineSpec] {
    let blocks = (1...count).map { "machine \"m\($0)\" {\n  cpus \(cpus)\n  memory \(memory)\n}" }
    let spec = try Machinefile.load(
      source: "box \"b\"\n" + blocks.joined(separator: "\n"), fileName: "Machinefile", environment: [:])
    return spec.machines
  }

  @Test func tcgOnFewerThanFourCPUsIsOneAtATimeAndSaysWhy() throws {
    let choice = Parallelism.choose(
      requested: nil, machines: try Self.machines(3), resources: { HostResources(cpus: 2, availableMemoryMiB: 20000) },
      softwareEmulated: true)
    #expect(choice.limit == 1)
    #expect(choice.reason.contains("TCG"))
    #expect(choice.reason.contains("2 host CPUs"))
    #expect(choice.reason.contains("--parallel N"))
  }

  @Test func theBoundFollowsTheHostsCPUsAndMemory() throws {
    let three = try Self.machines(3)
    let four = try Self.machines(4)
    let six = try Self.machines(6)
    let sixDouble = try Self.machines(6, cpus: 2)
    func limit(_ machines: [MachineSpec], _ cpus: Int, _ memory: Int?, tcg: Bool) -> Int {
      Parallelism.choose(
        requested: nil, machines: machines, resources: { HostResources(cpus: cpus, availableMemoryMiB: memory) },
        softwareEmulated: tcg
      ).limit
    }
    #expect(limit(four, 8, 3000, tcg: false) == 2, "3000 MiB holds two 1 GiB machines")
    #expect(limit(six, 8, 64000, tcg: false) == 4, "KVM: half the CPUs")
    #expect(limit(sixDouble, 8, 64000, tcg: true) == 4, "TCG: the CPUs over the largest machine's")
    #expect(limit(three, 8, 64000, tcg: false) == 3, "never more than the machines")
    #expect(limit(three, 8, nil, tcg: false) == 3, "memory libvirt cannot report does not bound it")
    #expect(limit(three, 2, 64000, tcg: false) == 2, "KVM on 2 CPUs: still two")
    let asked = Parallelism.choose(
      requested: 9, machines: three, resources: { HostResources(cpus: 2, availableMemoryMiB: 100) },
      softwareEmulated: true)
    #expect(asked == Parallelism(limit: 3, reason: "--parallel 9"), "--parallel wins, within the count")
    // A host libvirt cannot describe: one at a time, and why.
    let silent = Parallelism.choose(
      requested: nil, machines: three, resources: { throw CaravanError(.hypervisor, "no node info") },
      softwareEmulated: false)
    #expect(silent == Parallelism(limit: 1, reason: "libvirt did not say what the host has; `--parallel N` overrides"))
  }
}
