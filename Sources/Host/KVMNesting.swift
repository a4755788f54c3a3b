import Foundation

/// Whether this host's KVM lets its guests run KVM guests of their own (what
/// `libvirt { nested true }` needs): the `nested` parameter of the KVM module
/// loaded, kvm_intel's or kvm_amd's.
public enum KVMNesting: Sendable, Equatable {
  case enabled(module: String)
  case disabled(module: String)
  /// Neither kvm_intel nor kvm_amd is loaded; `module` is the one this CPU would take.
  case notLoaded(module: String?)

  static let modules = ["kvm_intel", "kvm_amd"]

  public static func parameter(_ module: String) -> String { "/sys/module/\(module)/parameters/nested" }

  /// `Y`/`1` is on, `N`/`0` off (kvm_intel says Y/N, older kvm_amd 1/0).
  public static func read(_ host: HostFacts) -> KVMNesting {
    for module in modules {
      guard let value = host.read(parameter(module))?.trimmingCharacters(in: .whitespacesAndNewlines) else {
        continue
      }
      return ["Y", "y", "1"].contains(value) ? .enabled(module: module) : .disabled(module: module)
    }
    let cpuinfo = host.read("/proc/cpuinfo") ?? ""
    if cpuinfo.contains("GenuineIntel") { return .notLoaded(module: "kvm_intel") }
    if cpuinfo.contains("AuthenticAMD") || cpuinfo.contains("HygonGenuine") { return .notLoaded(module: "kvm_amd") }
    return .notLoaded(module: nil)
  }

  /// How to turn nesting on for `module`, now and after a reboot (as root, with no guest running).
  public static func fix(_ module: String) -> String {
    "As root, with no guest running: `modprobe -r \(module) && modprobe \(module) nested=1`; to keep it after a reboot: `echo 'options \(module) nested=1' > /etc/modprobe.d/kvm-nested.conf`."
  }
}

extension HostChecks {
  /// Whether guests may run KVM themselves (`libvirt { nested true }`). Not on:
  /// a warning with the fix when a machine of the project asks for it (`wantedBy`),
  /// else said and passed (only nested machines need it).
  public func nesting(wantedBy machines: [String] = []) -> HealthCheck {
    let id = "nested"
    let feature = "`libvirt { nested true }` machines"
    let status: HealthCheck.Status = machines.isEmpty ? .ok : .warning
    let asking =
      machines.isEmpty
      ? "; no machine here asks for it"
      : "; \(machines.map { "'\($0)'" }.joined(separator: ", ")) \(machines.count == 1 ? "asks" : "ask") for it"
    switch KVMNesting.read(host) {
    case .enabled(let module):
      return HealthCheck(
        id, .ok,
        "nested virtualisation is on (\(KVMNesting.parameter(module))): \(feature) can run KVM guests of their own")
    case .disabled(let module):
      return HealthCheck(
        id, status,
        "nested virtualisation is off (\(KVMNesting.parameter(module))): under KVM, \(feature) would get no virtualisation extension, so `up` refuses them"
          + asking,
        fix: KVMNesting.fix(module))
    case .notLoaded(let module):
      let pvm = host.exists("/sys/module/kvm_pvm") ? " (the host's KVM is kvm_pvm)" : ""
      let places = KVMNesting.modules.map(KVMNesting.parameter).joined(separator: " or ")
      let load =
        module.map { "`modprobe \($0) nested=1`" }
        ?? "`modprobe kvm_intel nested=1` (Intel) or `modprobe kvm_amd nested=1` (AMD)"
      return HealthCheck(
        id, status,
        "neither kvm_intel nor kvm_amd is loaded\(pvm): there is no \(places), so guests get no nested virtualisation and \(feature) run under TCG without it"
          + asking,
        fix:
          "Where the CPU has VT-x/AMD-V (or the host VM has nesting on): as root, \(load), and an `options \(module ?? "MODULE") nested=1` line in /etc/modprobe.d/kvm-nested.conf to keep it after a reboot."
      )
    }
  }
}
