import Foundation
import Host
import Support
import Testing

@testable import Core

/// Doctor's `nested` check: whether the host lets guests run KVM themselves
/// (`libvirt { nested true }`), from the KVM module's `nested` parameter.
struct NestingDoctorTests {
  static let intel = "/sys/module/kvm_intel/parameters/nested"
  static let amd = "/sys/module/kvm_amd/parameters/nested"

  @Test func doctorSaysWhetherTheHostAllowsNesting() throws {
    var setup = DoctorSetup()
    setup.nestedMachines = ["web"]
    let on = try #require(setup.run()["nested"])
    #expect(on.status == .ok && on.fix == nil)
    #expect(on.summary.hasPrefix("nested virtualisation is on (\(NestingDoctorTests.intel))"), "\(on.summary)")

    setup.host.texts[NestingDoctorTests.intel] = "N\n"
    let off = try #require(setup.run()["nested"])
    #expect(off.status == .warning)
    #expect(off.summary.hasPrefix("nested virtualisation is off (\(NestingDoctorTests.intel))"), "\(off.summary)")
    #expect(off.fix?.contains("`modprobe -r kvm_intel && modprobe kvm_intel nested=1`") == true, "\(off)")
    #expect(off.fix?.contains("options kvm_intel nested=1") == true, "and the options file: \(off)")
    #expect(off.summary.hasSuffix("; 'web' asks for it"), "\(off.summary)")
    // Without a machine that asks for it, nesting that is off is said, not warned about.
    setup.nestedMachines = []
    let unused = try #require(setup.run()["nested"])
    #expect(unused.status == .ok && unused.summary.hasSuffix("; no machine here asks for it"), "\(unused)")
    setup.nestedMachines = ["web"]

    setup.host.texts = [NestingDoctorTests.amd: "1\n"]
    #expect(setup.run()["nested"]?.status == .ok, "kvm_amd says 1")
    setup.host.texts = [NestingDoctorTests.amd: "0\n"]
    #expect(setup.run()["nested"]?.fix?.contains("modprobe kvm_amd nested=1") == true)

    setup.host.texts = ["/proc/cpuinfo": "vendor_id\t: GenuineIntel\nflags\t\t: fpu vme\n"]
    let missing = try #require(setup.run()["nested"])
    #expect(missing.status == .warning)
    #expect(
      missing.summary.hasPrefix(
        "neither kvm_intel nor kvm_amd is loaded: there is no \(NestingDoctorTests.intel) or \(NestingDoctorTests.amd)"),
      "\(missing.summary)")
    #expect(missing.fix?.contains("`modprobe kvm_intel nested=1`") == true, "the module this CPU takes: \(missing)")
    setup.host.files["/sys/module/kvm_pvm"] = FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false)
    #expect(setup.run()["nested"]?.summary.contains("(the host's KVM is kvm_pvm)") == true)

    setup.uri = "qemu+ssh://me@far/system"
    #expect(setup.run()["nested"]?.status == .skipped, "a remote host's module is not this one's")
  }
}
