import Core
import Foundation
import Host
import Support

/// What a nested guest's CPU needs: the host's own virtualisation extension, `vmx`
/// (Intel VT-x) or `svm` (AMD-V), required in the domain's host CPU, so the guest
/// can run KVM guests of its own (`libvirt { nested true }`).
enum NestedCPU {
  static let extensions = ["vmx", "svm"]

  /// The extension among the `flags` of /proc/cpuinfo (a libvirt on this machine).
  static func feature(cpuinfo: String) -> String? {
    for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
      let flags = Set((line.split(separator: ":", maxSplits: 1).last ?? "").split(separator: " ").map(String.init))
      if let found = extensions.first(where: flags.contains) { return found }
    }
    return nil
  }

  /// The extension of libvirt's host CPU (`<host><cpu>` of its capabilities): one
  /// of its listed features, else `svm` for an AMD (or Hygon) CPU, whose libvirt
  /// models (EPYC, Opteron, Dhyana) hold `svm` themselves. Intel's models hold no
  /// `vmx`: a host CPU that has it lists it.
  static func feature(capabilities: String) -> String? {
    guard let host = capabilities.range(of: "<host>"),
      let cpu = capabilities.range(of: "<cpu>", range: host.upperBound..<capabilities.endIndex),
      let end = capabilities.range(of: "</cpu>", range: cpu.upperBound..<capabilities.endIndex)
    else { return nil }
    let text = capabilities[cpu.upperBound..<end.lowerBound]
    if let listed = extensions.first(where: {
      text.contains("<feature name='\($0)'/>") || text.contains("<feature name=\"\($0)\"/>")
    }) {
      return listed
    }
    return text.contains("<vendor>AMD</vendor>") || text.contains("<vendor>Hygon</vendor>") ? "svm" : nil
  }
}

extension LibvirtHypervisor {
  /// The CPU features `plan`'s domain requires: the host's virtualisation extension
  /// for a nested machine under KVM (TCG has none to pass on: `up` says so), else none.
  /// On this machine /proc/cpuinfo says which; elsewhere libvirt's host CPU.
  func requiredCPUFeatures(_ plan: MachinePlan) throws -> [String] {
    guard plan.nested && plan.accelerator == .kvm else { return [] }
    let local = LibvirtURI.isLocalURI(uri)
    if local, case .disabled(let module) = KVMNesting.read(LocalHost()) {
      throw CaravanError(
        .invalidInput,
        "machine '\(plan.machineName)': `libvirt { nested true }` needs nested virtualisation, which is off in this host's \(module) (\(KVMNesting.parameter(module))): the guest would get no virtualisation extension",
        hint: KVMNesting.fix(module) + " Or remove `nested true`.")
    }
    let cpuinfo = local ? try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) : nil
    let found: String?
    if let cpuinfo {
      found = NestedCPU.feature(cpuinfo: cpuinfo)
    } else {
      found = NestedCPU.feature(capabilities: try connection.capabilities())
    }
    guard let found else {
      let place = cpuinfo == nil ? "libvirt's host CPU (`virsh -c '\(uri)' capabilities`)" : "/proc/cpuinfo"
      throw CaravanError(
        .invalidInput,
        "machine '\(plan.machineName)': `libvirt { nested true }` needs the host CPU's virtualisation extension (vmx or svm), and \(place) shows neither",
        hint:
          "Enable VT-x/AMD-V in the host's firmware (or nesting for it, when the host is itself a VM: `caravan doctor` checks it), or remove `nested true`."
      )
    }
    return [found]
  }
}
