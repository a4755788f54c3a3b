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
      settings: ["libvirt", "libvirt.accel", "libvirt.nested", "libvirt.graphics"])
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
}
