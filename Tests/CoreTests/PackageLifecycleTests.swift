import Boxes
import Foundation
import Spec
import Support
import Testing

@testable import Core

/// The fake's copy of a machine never boots: what `package` does around it.
extension FakeHypervisor: HypervisorPackaging {
  public func startPackageCopy(_ plan: MachinePlan, of machine: String) throws {
    throw CaravanError(.hypervisor, "the fake boots no copy of \(machine) as \(plan.domainName)")
  }
  public func exportPackageCopy(_ plan: MachinePlan, to path: String) throws -> UInt64 { 0 }
  public func removePackageCopy(_ domain: String, pool: String?) throws {}
}

/// `caravan package` in the engine: the machine is left as it was found, whatever happens.
struct PackageLifecycleTests {
  static let options = PackageOptions(
    output: "/nonexistent/web.box", name: "web", version: "1", catalog: "/nonexistent/web.json", keepKey: false)

  @Test func aFailedPackageBringsARunningMachineBack() throws {
    let f = try Fixture(LifecycleTests.machinefile + "\ngraceful_halt_timeout 200ms\n")
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let machine = f.project.spec.machines[0]
    #expect(throws: CaravanError.self) { try f.lifecycle.package(machine, options: Self.options) }
    #expect(f.guest.commands.contains { $0.contains("poweroff") }, "it was halted first")
    #expect(f.reporter.lines.contains { $0.contains("packaging failed; bringing it back up") }, "\(f.reporter.lines)")
    #expect(try f.lifecycle.status([machine]).first?.status == .running)
  }

  @Test func aMachineOnARemoteHostIsRefusedBeforeItIsHalted() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    f.hypervisor.uri = "qemu+ssh://root@virt.example/system"
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let machine = f.project.spec.machines[0]
    f.guest.commands.removeAll()
    do {
      _ = try f.lifecycle.package(machine, options: Self.options)
      Issue.record("a remote machine was packaged")
    } catch let error as CaravanError {
      #expect(error.message.contains("is on another host (qemu+ssh://root@virt.example/system)"), "\(error)")
    }
    #expect(!f.guest.commands.contains { $0.contains("poweroff") }, "not halted")
    #expect(try f.lifecycle.status([machine]).first?.status == .running)
  }

  @Test func aMachineNotCreatedIsNamedWithTheFix() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    do {
      _ = try f.lifecycle.package(f.project.spec.machines[0], options: Self.options)
      Issue.record("a machine that is not created was packaged")
    } catch let error as CaravanError {
      #expect(error.message.contains("cannot package machine 'default'"), "\(error)")
      #expect(error.message.contains("run `caravan up`"), "\(error)")
    }
  }
}
