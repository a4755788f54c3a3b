import Core
import Foundation
import Spec
import Support
import Testing

@testable import LibvirtDriver

/// `libvirt { nested true }` in the domain: a host-passthrough CPU that requires
/// the host's virtualisation extension, as libvirt's schema takes it; which one
/// the host has; and what the driver declares it acts on.
struct NestedDomainTests {
  static func nested(_ feature: String) -> DomainDefinition {
    var definition = DomainDefinitionTests.sample(type: "kvm")
    definition.cpuFeatures = [feature]
    return definition
  }

  @Test func aNestedDomainMatchesTheGoldenFileAndTheSchema() throws {
    let xml = NestedDomainTests.nested("vmx").xml
    #expect(xml == (try DomainDefinitionTests.golden("domain-nested.xml")))
    for feature in ["vmx", "svm"] {
      let path = NSTemporaryDirectory() + "caravan-domain-nested-\(feature)-\(getpid()).xml"
      try NestedDomainTests.nested(feature).xml.write(toFile: path, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
      #expect(result.status == 0, "\(feature): \(result.stdout)\(result.stderr)")
    }
  }

  @Test func aCPUModeSetByHandKeepsTheFeature() {
    var definition = NestedDomainTests.nested("svm")
    definition.cpuMode = "host-model"
    #expect(
      definition.xml.contains(
        "  <cpu mode='host-model'>\n    <feature policy='require' name='svm'/>\n  </cpu>\n"), "\(definition.xml)")
    #expect(DomainDefinitionTests.sample(type: "kvm").xml.contains("<cpu mode='host-passthrough'/>"), "not nested")
  }

  @Test func theExtensionIsTheHostCPUsOwn() {
    #expect(NestedCPU.feature(cpuinfo: "processor\t: 0\nflags\t\t: fpu vme vmx ept\n") == "vmx")
    #expect(NestedCPU.feature(cpuinfo: "flags\t\t: fpu svm npt\n") == "svm")
    #expect(NestedCPU.feature(cpuinfo: "flags\t\t: fpu vme hypervisor vmx_tsc\n") == nil, "whole flags only")
    #expect(NestedCPU.feature(cpuinfo: "") == nil)

    let intel = """
      <capabilities><host><uuid>u</uuid><cpu><arch>x86_64</arch><model>Broadwell</model><vendor>Intel</vendor>
      <feature name='vme'/><feature name='vmx'/></cpu></host>
      <guest><cpu><feature name='svm'/></cpu></guest></capabilities>
      """
    #expect(NestedCPU.feature(capabilities: intel) == "vmx")
    let noVMX = intel.replacingOccurrences(of: "<feature name='vmx'/>", with: "")
    #expect(NestedCPU.feature(capabilities: noVMX) == nil, "only the host's CPU counts")
    let amd = "<capabilities><host><cpu><model>EPYC-Rome</model><vendor>AMD</vendor></cpu></host></capabilities>"
    #expect(NestedCPU.feature(capabilities: amd) == "svm", "AMD's models hold svm")
  }

  /// `nested` and `graphics` (every value) are acted on.
  @Test func theDriverActsOnNestedAndGraphics() {
    var machine = MachineSpec(name: "web")
    machine.settingsUsed = [
      UsedSetting(name: "libvirt.nested", location: SourceLocation(line: 2, column: 3)),
      UsedSetting(name: "libvirt.graphics", location: SourceLocation(line: 3, column: 3)),
    ]
    machine.libvirt.nested = true
    #expect(LibvirtHypervisor.support.unsupported(in: machine).isEmpty)
    machine.libvirt.graphics = .spice
    #expect(LibvirtHypervisor.support.unsupported(in: machine).isEmpty)
    machine.settingsUsed.append(UsedSetting(name: "libvirt.sound", location: SourceLocation(line: 4, column: 3)))
    #expect(LibvirtHypervisor.support.unsupported(in: machine).map(\.name) == ["libvirt.sound"])
  }
}
