import Boxes
import Foundation
import Host
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// Nothing lost: a disk that is in the pool before an `up` is the machine's, used again
/// with what was done on it, and never removed by that `up`'s failure; the key copy
/// outlives every `destroy` that did not remove its machine.
struct KeptDiskTests {
  static let machinefile = """
    box "caravan/debian-12"
    hostname "web.local"
    provision shell, name: "first", inline: "true"
    provision shell, name: "every", inline: "true", run: always
    """

  /// Another engine on the same project folder, guest and CARAVAN_HOME, with `machinefile`
  /// (as after the user edited the Machinefile), on `hypervisor` (another connection) or the fixture's.
  static func edited(_ f: Fixture, _ machinefile: String, on hypervisor: FakeHypervisor? = nil) throws -> Lifecycle {
    let spec = try Machinefile.load(source: machinefile, fileName: "Machinefile", environment: [:])
    let project = Project(root: f.project.root, machinefilePath: f.project.machinefilePath, spec: spec)
    let lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor ?? f.hypervisor, communicators: FakeFactory(guest: f.guest),
      provisioners: RecordingProvisioner(guest: f.guest), boxes: f.lifecycle.boxes, reporter: f.reporter,
      environment: f.lifecycle.environment)
    lifecycle.host = FakeHost()
    return lifecycle
  }

  func provisioned(_ f: Fixture) -> [String] { f.guest.commands.filter { $0.hasPrefix("provision") } }

  @Test func aDiskLeftByVirshUndefineIsReusedWithoutRunningItsProvisionersAgain() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let domain = f.project.domainName(for: "default")
    let before = try #require(try f.project.loadRecord("default"))
    try f.hypervisor.undefine(domain: domain)  // `virsh undefine`: the disk stays
    f.guest.commands.removeAll()

    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("reusing the disk of machine 'default'") }, "\(f.reporter.lines)")
    #expect(f.hypervisor.calls.contains("reuse disk \(domain)"))
    #expect(provisioned(f) == ["provision every"], "only the `always` one: \(f.guest.commands)")
    #expect(!f.guest.commands.contains { $0.hasPrefix("replaceKey") }, "the disk already has the machine's key")
    let after = try #require(try f.project.loadRecord("default"))
    #expect(after.provisioned == before.provisioned && after.keyReplaced && after.firstUp == .finished)
    #expect(after.sshPort == before.sshPort && after.boxVersion == before.boxVersion)
  }

  @Test func withoutStateFolderOrDomainTheDisksMarkStillSaysWhatRan() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let key = try Data(contentsOf: URL(fileURLWithPath: f.project.keyPath("default")))
    try f.hypervisor.undefine(domain: f.project.domainName(for: "default"))
    try FileManager.default.removeItem(atPath: f.project.stateDirectory)
    f.guest.commands.removeAll()

    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("reusing the disk of machine 'default'") })
    #expect(provisioned(f) == ["provision every"], "\(f.guest.commands)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: f.project.keyPath("default"))) == key, "its key, restored")
  }

  @Test func aFailedUpOnAKeptDiskRemovesOnlyTheDomainItDefinedAndTheNextUpReusesTheDisk() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let domain = f.project.domainName(for: "default")
    try f.hypervisor.undefine(domain: domain)
    f.guest.commands.removeAll()
    f.hypervisor.calls.removeAll()

    let broken = try KeptDiskTests.edited(
      f, KeptDiskTests.machinefile + "\nprovision shell, name: \"broken-new\", inline: \"false\"\n")
    let error = try #require(throws: CaravanError.self) { try broken.up(broken.project.spec.machines, provision: nil) }
    #expect(error.message.contains("broken-new"), "\(error)")
    #expect(error.hint?.contains("The machine's disk is kept") == true, "\(error)")
    #expect(
      !f.hypervisor.calls.contains("remove \(domain)"), "the disk was not this up's to remove: \(f.hypervisor.calls)")
    #expect(f.hypervisor.calls.contains("undefine \(domain)"), "the domain it defined goes")
    #expect(try f.hypervisor.diskExists(domain: domain), "the disk is kept")
    #expect(FileSystem.exists(f.lifecycle.keyCopyPath("default")), "and the key copy")
    #expect(provisioned(f) == ["provision every", "provision broken-new"], "\(f.guest.commands)")

    // Fixed: the next `up` reuses the disk again; what ran on it is not run again.
    f.guest.commands.removeAll()
    f.reporter.lines.removeAll()
    let fixed = try KeptDiskTests.edited(
      f, KeptDiskTests.machinefile + "\nprovision shell, name: \"fixed-new\", inline: \"true\"\n")
    try fixed.up(fixed.project.spec.machines, provision: nil)
    #expect(f.reporter.lines.contains { $0.contains("reusing the disk of machine 'default'") }, "\(f.reporter.lines)")
    #expect(provisioned(f) == ["provision every", "provision fixed-new"], "\(f.guest.commands)")
    #expect(try f.project.loadRecord("default")?.provisioned == ["first", "every", "fixed-new"])
  }

  @Test func aDiskThisUpMadeIsStillRemovedOnError() throws {
    let f = try Fixture(KeptDiskTests.machinefile + "\nprovision shell, name: \"broken\", inline: \"false\"\n")
    defer { f.cleanUp() }
    let domain = f.project.domainName(for: "default")
    #expect(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(f.hypervisor.calls.contains("remove \(domain)"))
    #expect(try !f.hypervisor.diskExists(domain: domain))
    #expect(!FileSystem.exists(f.lifecycle.machineHome("default")), "nor its key copy or mark")
  }

  @Test func aDiskWithoutAnyRecordIsReusedWithEverythingDue() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    let domain = f.project.domainName(for: "default")
    f.hypervisor.keptDisks.insert(domain)  // left by an older Caravan, its records gone
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(f.hypervisor.calls.contains("reuse disk \(domain)"))
    #expect(f.reporter.lines.contains { $0.contains("carries no record of what was done on it") })
    #expect(provisioned(f) == ["provision first", "provision every"])
    #expect(try f.project.loadRecord("default")?.boxVersion == "0", "the record names the box it was defined with")
  }

  @Test func aKeptDiskWhoseOwnKeyIsGoneIsRefusedBeforeAnythingIsMade() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let domain = f.project.domainName(for: "default")
    try f.hypervisor.undefine(domain: domain)
    try FileManager.default.removeItem(atPath: f.project.keyPath("default"))
    try FileManager.default.removeItem(atPath: f.lifecycle.keyCopyPath("default"))
    f.hypervisor.calls.removeAll()
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(error.message.contains("accepts only the machine's own SSH key"), "\(error)")
    #expect(!f.hypervisor.calls.contains { $0.hasPrefix("define") || $0.hasPrefix("remove") }, "\(f.hypervisor.calls)")
    #expect(try f.hypervisor.diskExists(domain: domain))
  }

  @Test func destroyOnAnotherURIKeepsTheKeyCopyOfTheMachineItDidNotRemove() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let copy = f.lifecycle.keyCopyPath("default")
    #expect(FileSystem.exists(copy))
    // `.caravan/` gone, then `destroy` on another connection: it has nothing of the machine.
    try FileManager.default.removeItem(atPath: f.project.stateDirectory)
    let session = FakeHypervisor()
    session.uri = "qemu:///session"
    let elsewhere = try KeptDiskTests.edited(f, KeptDiskTests.machinefile, on: session)
    try elsewhere.destroy(elsewhere.project.spec.machines)
    #expect(FileSystem.exists(copy), "the only key copy of the machine on fake:/// is kept")
    // Back on its own URI, the machine is reached with its key, and `destroy` there removes the copy.
    f.guest.commands.removeAll()
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(FileSystem.exists(f.project.keyPath("default")), "restored from the copy")
    #expect(!f.guest.commands.contains { $0.hasPrefix("replaceKey") })
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(!FileSystem.exists(f.lifecycle.machineHome("default")))
  }

  @Test func aKeyCopyWithoutRecordsGoesOnlyWithAMachineThisDestroyRemoved() throws {
    let f = try Fixture(KeptDiskTests.machinefile)
    defer { f.cleanUp() }
    // An older Caravan's copy (no record beside it), of a machine this URI does not have.
    let copy = f.lifecycle.keyCopyPath("default")
    try FileSystem.makeDirectory(f.lifecycle.machineHome("default"), mode: 0o700)
    try FileSystem.writeAtomically(Data("key".utf8), to: copy)
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(FileSystem.exists(copy))
  }
}
