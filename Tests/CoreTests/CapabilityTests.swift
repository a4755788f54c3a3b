import Boxes
import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// The engine asks for the hypervisor capability it needs: a hypervisor with
/// only what every machine needs runs a machine's whole life, and a command that
/// needs saved memory, snapshots, networks or warm states is refused by name
/// before anything changes.
struct CapabilityTests {
  /// A project on `FakeMachines`, which has no capability beyond `Hypervisor`.
  struct NarrowFixture {
    let root = NSTemporaryDirectory() + "caravan-narrow-\(UUID().uuidString)"
    let hypervisor = FakeMachines()
    let guest = FakeGuest()
    let reporter = CollectingReporter()
    let lifecycle: Lifecycle
    let project: Project

    init(_ machinefile: String) throws {
      let boxes = BoxStore(root: root + "/home/boxes")
      try FileSystem.writeAtomically(
        Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":4}"#.utf8),
        to: boxes.directory(name: "caravan/debian-12", version: "0") + "/metadata.json")
      let spec = try Machinefile.load(source: machinefile, fileName: "Machinefile", environment: [:])
      project = Project(root: root + "/project", machinefilePath: root + "/project/Machinefile", spec: spec)
      lifecycle = Lifecycle(
        project: project, hypervisor: hypervisor, communicators: FakeFactory(guest: guest),
        provisioners: RecordingProvisioner(guest: guest), boxes: boxes, reporter: reporter,
        environment: ["CARAVAN_HOME": root + "/home"])
      lifecycle.host = FakeHost()
    }
  }

  @Test func aHypervisorWithOnlyMachinesRunsAMachinesLife() throws {
    let f = try NarrowFixture(LifecycleTests.machinefile)
    defer { try? FileManager.default.removeItem(atPath: f.root) }
    let machines = f.project.spec.machines
    try f.lifecycle.up(machines, provision: nil)
    #expect(f.guest.commands.filter { $0.hasPrefix("provision") } == ["provision first", "provision every"])
    try f.lifecycle.halt(machines, force: true)
    try f.lifecycle.up(machines, provision: nil)
    #expect(try f.hypervisor.status(domain: try #require(try f.project.loadRecord("default")).domainName) == .running)

    let suspend = try #require(throws: CaravanError.self) { try f.lifecycle.suspend(machines) }
    #expect(suspend.message == "the hypervisor at 'fake:///' cannot save a machine's memory or take snapshots")
    let snapshot = try #require(throws: CaravanError.self) { try f.lifecycle.saveSnapshot(machines, name: "s1") }
    #expect(snapshot.message == suspend.message)
    let domain = try #require(try f.project.loadRecord("default")).domainName
    #expect(try f.hypervisor.status(domain: domain) == .running, "a refused command changes nothing")

    try f.lifecycle.destroy(machines)
    #expect(f.hypervisor.domains.isEmpty)
  }

  @Test func aPrivateNetworkOrAWarmStartNeedsItsCapability() throws {
    let networked = try NarrowFixture(NetworkLifecycleTests.machinefile)
    defer { try? FileManager.default.removeItem(atPath: networked.root) }
    let network = try #require(throws: CaravanError.self) {
      try networked.lifecycle.up(networked.project.spec.machines, provision: nil)
    }
    #expect(network.message == "the hypervisor at 'fake:///' cannot make private networks or attach host bridges")
    #expect(networked.hypervisor.domains.isEmpty, "refused before anything is defined")

    // A warm `up` says why it boots cold, as for any other obstacle.
    let warm = try NarrowFixture(LifecycleTests.machinefile)
    defer { try? FileManager.default.removeItem(atPath: warm.root) }
    try warm.lifecycle.up(warm.project.spec.machines, options: UpOptions(warm: true))
    #expect(
      warm.reporter.lines.contains {
        $0.contains("not starting warm, a cold boot instead: its hypervisor (fake:///) keeps no warm states")
      }, "\(warm.reporter.lines)")
    #expect(
      try warm.hypervisor.status(domain: try #require(try warm.project.loadRecord("default")).domainName) == .running)
  }
}
