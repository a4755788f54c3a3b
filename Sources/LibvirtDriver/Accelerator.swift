import Core
import Foundation
import Spec
import Support

/// Chooses KVM when the host's KVM can run a guest, else TCG (domain type `qemu`).
struct AcceleratorDetector {
  var capabilities: () throws -> String
  /// True for local URIs, where the host's /dev/kvm and modules can be looked at.
  var isLocal: Bool
  var fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
  var canOpen: (String) -> Bool = { path in
    let fd = open(path, O_RDWR | O_CLOEXEC)
    if fd >= 0 { close(fd) }
    return fd >= 0
  }

  func choose(_ requested: LibvirtSettings.Accel) throws -> AcceleratorChoice {
    switch requested {
    case .kvm: return AcceleratorChoice(.kvm, reason: "set by `libvirt { accel kvm }`")
    case .tcg: return AcceleratorChoice(.tcg, reason: "set by `libvirt { accel tcg }`; software emulation is slow")
    case .auto: break
    }
    guard try capabilities().contains("<domain type='kvm'") else {
      return AcceleratorChoice(.tcg, reason: "libvirt offers no KVM domains here; software emulation (TCG), slower")
    }
    if isLocal {
      if !fileExists("/dev/kvm") {
        return AcceleratorChoice(.tcg, reason: "/dev/kvm is missing; software emulation (TCG), slower")
      }
      // A nested, paravirtual KVM (kvm_pvm) accepts a guest but never runs it past the firmware.
      if fileExists("/sys/module/kvm_pvm") {
        return AcceleratorChoice(
          .tcg,
          reason: "the host's KVM is kvm_pvm, which cannot run an ordinary guest; software emulation (TCG), slower")
      }
    }
    return AcceleratorChoice(.kvm, reason: "hardware virtualisation")
  }
}
