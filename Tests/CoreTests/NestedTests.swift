import Foundation
import Host
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// `libvirt { nested true }`: `up`'s note under TCG and the plan the hypervisor
/// gets; and `graphics none`, the default, accepted without a "not supported yet".
struct NestedTests {
  static let nestedMachinefile = """
    box "caravan/debian-12"
    libvirt { nested true; graphics none }
    """

  @Test func underTCGUpSaysNestedHasNoEffectAndGoesOn() throws {
    let f = try Fixture(NestedTests.nestedMachinefile)
    defer { f.cleanUp() }
    f.hypervisor.support = SettingSupport(
      settings: ["libvirt", "libvirt.accel", "libvirt.nested"], defaultsOnly: ["libvirt.graphics"])
    f.hypervisor.accelerator = .tcg
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(
      f.reporter.lines.contains {
        $0.hasPrefix("warning: machine 'default': `libvirt { nested true }` has no effect under TCG")
      }, "\(f.reporter.lines)")
    #expect(try f.lifecycle.status(f.project.spec.machines).first?.status == .running, "it goes on")
    #expect(!f.reporter.lines.contains { $0.contains("not supported yet") }, "\(f.reporter.lines)")
  }

  @Test func underKVMTheHypervisorIsAskedForANestedDomain() throws {
    let f = try Fixture(NestedTests.nestedMachinefile)
    defer { f.cleanUp() }
    f.hypervisor.accelerator = .kvm
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(f.hypervisor.plans.last?.nested == true)
    #expect(!f.reporter.lines.contains { $0.contains("has no effect") }, "\(f.reporter.lines)")
  }

  /// `graphics none` asks for what every domain gets; `vnc` is still named.
  @Test func graphicsNoneIsAcceptedAndOtherValuesAreNamed() throws {
    let support = SettingSupport(settings: ["libvirt"], defaultsOnly: ["libvirt.graphics"])
    let none = try Machinefile.load(
      source: "libvirt { graphics none }\n", fileName: "Machinefile", environment: [:])
    #expect(support.unsupported(in: none.machines[0]).isEmpty)
    let vnc = try Machinefile.load(
      source: "libvirt { graphics vnc }\n", fileName: "Machinefile", environment: [:])
    #expect(support.unsupported(in: vnc.machines[0]).map(\.name) == ["libvirt.graphics"])
    #expect(SettingSupport(settings: ["libvirt"]).unsupported(in: none.machines[0]).map(\.name) == ["libvirt.graphics"])
    #expect(support.union(SettingSupport()).defaultsOnly == ["libvirt.graphics"], "union keeps it")
  }
}
