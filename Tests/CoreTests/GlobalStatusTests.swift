import Foundation
import Spec
import Support
import Testing

@testable import Core

/// The project index `up` writes and `global-status` reads, always checked
/// against the (fake) hypervisor.
struct GlobalStatusTests {
  @Test func upRecordsTheProjectAndGlobalStatusAsksLibvirt() throws {
    let (f, domain) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    let index = ProjectIndex(home: f.root + "/home")
    let entries = try index.load()
    #expect(entries.count == 1)
    #expect(entries.first?.root == f.project.root)
    #expect(entries.first?.machines == [.init(name: "default", domain: domain)])
    #expect(entries.first?.libvirtURI == "fake:///")

    var status = try GlobalStatus.check(index: index, alsoScan: ["fake:///"]) { _ in f.hypervisor }
    #expect(status.projects.first?.machines.first?.status == .running)
    #expect(status.unindexed.isEmpty)

    // The index is not trusted: a machine gone from libvirt is shown as not created.
    try f.lifecycle.suspend(f.project.spec.machines)
    status = try GlobalStatus.check(index: index, alsoScan: []) { _ in f.hypervisor }
    #expect(status.projects.first?.machines.first?.status == .saved)
    #expect(status.projects.first?.isGone == false)
    f.hypervisor.domains[domain] = nil
    status = try GlobalStatus.check(index: index, alsoScan: []) { _ in f.hypervisor }
    #expect(status.projects.first?.machines.first?.status == .notCreated)
    #expect(status.projects.first?.isGone == true)
    #expect(try status.prune(index).map(\.root) == [f.project.root])
    #expect(try index.load().isEmpty)
  }

  @Test func aSecondUpRefreshesTheEntryInsteadOfAddingOne() throws {
    let (f, _) = try StateRulesTests.upFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(try ProjectIndex(home: f.root + "/home").load().count == 1)
  }

  @Test func projectsWhoseFolderIsGoneArePrunedAndUnknownDomainsAreShown() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let index = ProjectIndex(home: f.root + "/home")
    try index.record(
      .init(
        root: f.root + "/deleted", machinefile: f.root + "/deleted/Machinefile", libvirtURI: "fake:///",
        machines: [.init(name: "web", domain: "caravan-deleted-web-1")]))
    f.hypervisor.domains["caravan-deleted-web-1"] = ("u1", .running)
    f.hypervisor.domains["caravan-lost-db-2"] = ("u2", .poweroff)
    f.hypervisor.foreignDomains = [
      "caravan-deleted-web-1": (f.root + "/deleted", "web"), "caravan-lost-db-2": ("/lost", "db"),
    ]
    let status = try GlobalStatus.check(index: index, alsoScan: ["fake:///"]) { _ in f.hypervisor }
    #expect(status.projects.first?.folderExists == false)
    #expect(status.projects.first?.isGone == true)
    #expect(status.unindexed.map(\.domain.domain) == ["caravan-lost-db-2"])
    try status.prune(index)
    #expect(try index.load().isEmpty)
    let after = try GlobalStatus.check(index: index, alsoScan: ["fake:///"]) { _ in f.hypervisor }
    #expect(
      after.unindexed.map(\.domain.domain) == ["caravan-deleted-web-1", "caravan-lost-db-2"],
      "a pruned project's domain that still exists is still shown")
  }

  @Test func anUnreachableLibvirtIsNamedAndNothingIsPruned() throws {
    let f = try Fixture(StateRulesTests.machinefile)
    defer { f.cleanUp() }
    let index = ProjectIndex(home: f.root + "/home")
    try index.record(
      .init(root: "/gone", machinefile: "/gone/Machinefile", libvirtURI: "qemu+ssh://far/system", machines: []))
    let status = try GlobalStatus.check(index: index, alsoScan: []) { uri in
      throw CaravanError(.hypervisor, "cannot connect to libvirt at '\(uri)'")
    }
    #expect(status.unreachable["qemu+ssh://far/system"] == "cannot connect to libvirt at 'qemu+ssh://far/system'")
    #expect(status.projects.first?.isGone == false)
    #expect(try status.prune(index).isEmpty)
  }
}
