import Foundation
import Spec
import Support
import Synchronization
import Testing

@testable import Core

/// What the engine tells a provisioner of the project's machines (ansible's inventory lists
/// them): each that runs, with its SSH endpoint, in Machinefile order; not one that was never
/// made or is halted.
struct RunningMachinesTests {
  /// Records, for each machine it provisions, the running machines it was given (`NAME:PORT`).
  final class ListingProvisioner: ProvisionerRunner {
    let seen = Mutex<[String: [String]]>([:])
    var support: SettingSupport { SettingSupport(provisionerTypes: ["shell"]) }

    func run(
      _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String, running: RunningMachines,
      on communicator: Communicator, reporter: Reporter
    ) throws {
      let listed = try running.list().map { "\($0.name):\($0.endpoint.port)" }
      seen.withLock { $0[machine.name] = listed }
    }

    func runTrigger(
      _ trigger: TriggerSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator?,
      reporter: Reporter
    ) throws {}
  }

  @Test func theProvisionerIsGivenTheRunningMachines() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      machine "web" {
      }
      machine "db", autostart: false {
      }
      machine "ctl" {
        provision shell, name: "everyone", inline: "true", run: always
      }
      """)
    defer { f.cleanUp() }
    let listing = ListingProvisioner()
    let lifecycle = InterruptLifecycleTests.engine(f, Interrupt(), provisioners: listing)
    let machines = f.project.spec.machines
    let (web, ctl) = (machines[0], machines[2])
    try lifecycle.up([web, ctl], options: UpOptions(parallel: 1))
    func port(_ name: String) throws -> Int { try #require(try f.project.loadRecord(name)).sshPort }
    let webPort = try port("web")
    let ctlPort = try port("ctl")
    #expect(
      listing.seen.withLock { $0["ctl"] } == ["web:\(webPort)", "ctl:\(ctlPort)"], "db was never made: not listed")

    // web halted: `caravan provision ctl` lists ctl alone.
    try lifecycle.halt([web], force: true)
    try lifecycle.provision([ctl], only: [])
    #expect(listing.seen.withLock { $0["ctl"] } == ["ctl:\(ctlPort)"])
  }
}
