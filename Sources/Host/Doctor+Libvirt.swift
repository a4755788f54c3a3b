import Foundation
import Support

/// The checks that ask libvirt: whether it answers, the pool, KVM, versions and
/// the features that follow from them.
extension Doctor {
  /// What TCG costs, said wherever guests fall back to it. The 30 s is measured on
  /// this project's test host (architecture.md); KVM's "a few seconds" is the usual figure.
  static let tcgCost =
    "guests run under QEMU's software emulation (TCG), several times slower than with KVM: a Debian 12 guest takes about 30 s to reach SSH under TCG, where KVM usually takes a few seconds"

  func libvirtReachable(_ connection: HypervisorInspection) -> HealthCheck {
    HealthCheck("libvirt", .ok, "libvirt answers at '\(connection.uri)' (\(uriSource))")
  }

  func libvirtUnreachable(_ error: Error) -> HealthCheck {
    let caravan = error as? CaravanError
    let message = caravan?.message ?? "cannot connect to libvirt at '\(uri)': \(error)"
    return HealthCheck(
      "libvirt", .error, "\(message) (the URI is \(uriSource))",
      fix: caravan?.hint
        ?? "Start libvirtd: `sudo systemctl start libvirtd` (or `libvirtd -d` and `virtlogd -d` where systemd does not run); CARAVAN_LIBVIRT_URI sets another URI."
    )
  }

  static let unreachable = "libvirt did not answer (see the libvirt check)"

  func storagePool(_ facts: Result<StoragePoolFacts?, Error>, reachable: Bool) -> HealthCheck {
    let id = "storage_pool"
    guard reachable else { return HealthCheck(id, .skipped, Doctor.unreachable) }
    switch facts {
    case .failure(let error):
      let caravan = error as? CaravanError
      return HealthCheck(
        id, .error, caravan?.message ?? "cannot read the storage pool: \(error)",
        fix: caravan?.hint ?? "Look at it with `virsh -c '\(uri)' pool-info \(pool ?? "caravan")`.")
    case .success(.none):
      return HealthCheck(id, .skipped, Doctor.unreachable)
    case .success(.missing(let name, let path)?):
      return HealthCheck(
        id, .ok, "storage pool '\(name)' is not defined yet: the first `up` defines it (a `dir` pool) at \(path)")
    case .success(.inactive(let name, let path)?):
      return HealthCheck(
        id, .ok, "storage pool '\(name)'\(path.map { " (\($0))" } ?? "") is defined but not active: `up` starts it")
    case .success(.active(let name, let path, _, _)?):
      return HealthCheck(id, .ok, "storage pool '\(name)' is active\(path.map { " at \($0)" } ?? "")")
    }
  }

  /// Whether guests get KVM, and if not, why and what it costs. Host facts first
  /// (they say why), then libvirt's own answer.
  func kvm(_ connection: HypervisorInspection?, local: Bool) -> HealthCheck {
    let id = "kvm"
    let offers = connection.flatMap { try? $0.offersKVM() }
    if local {
      if !host.exists(HostChecks.kvmPath) {
        return HealthCheck(
          id, .warning, "\(HostChecks.kvmPath) is missing, so there is no KVM: \(Doctor.tcgCost)",
          fix:
            "Enable virtualisation (VT-x/AMD-V) in the firmware, or nested virtualisation when this is a VM, and load KVM (`modprobe kvm_intel` or `modprobe kvm_amd`). Until then Caravan uses TCG by itself."
        )
      }
      if host.exists("/sys/module/kvm_pvm") {
        return HealthCheck(
          id, .warning,
          "the host's KVM is kvm_pvm (/sys/module/kvm_pvm), a nested paravirtual KVM that cannot run an ordinary guest past its firmware, so Caravan uses TCG: \(Doctor.tcgCost)",
          fix:
            "Nothing to do for Caravan, which chooses TCG here by itself (`libvirt { accel auto }`). For KVM speed, run on a host with hardware virtualisation (or a VM with nested VT-x/AMD-V)."
        )
      }
      let checks = HostChecks(uri: uri, home: home, environment: environment, host: host)
      if let file = host.stat(HostChecks.kvmPath), let runner = checks.qemuRunner(),
        !HostChecks.canOpen(file, as: runner.user)
      {
        return HealthCheck(
          id, .warning,
          "\(HostChecks.kvmPath) is \(checks.describe(file)) and \(runner.description) cannot open it, so libvirt offers no KVM: \(Doctor.tcgCost)",
          fix: "See the kvm_device check: `chown root:kvm /dev/kvm; chmod 0660 /dev/kvm`.")
      }
    }
    guard let offers else {
      return HealthCheck(
        id, .skipped,
        connection == nil
          ? Doctor.unreachable : "libvirt did not say whether it offers KVM (its capabilities could not be read)")
    }
    guard offers else {
      return HealthCheck(
        id, .warning, "libvirt at '\(uri)' offers no KVM domains: \(Doctor.tcgCost)",
        fix:
          "`virt-host-validate qemu` on the libvirt host says what is missing (the KVM module, /dev/kvm, its permissions)."
      )
    }
    return HealthCheck(id, .ok, "KVM is usable: guests run with hardware virtualisation")
  }

  func versions(_ versions: HypervisorVersions?, reachable: Bool) -> HealthCheck {
    let id = "versions"
    guard reachable else { return HealthCheck(id, .skipped, Doctor.unreachable) }
    guard let versions else {
      return HealthCheck(
        id, .warning, "libvirt at '\(uri)' did not say its version",
        fix: "`virsh -c '\(uri)' version` shows what it reports.")
    }
    let driver = (try? LibvirtURI(uri))?.driver ?? "qemu"
    let name = driver == "qemu" ? "QEMU" : "its \(driver) driver"
    let qemu = versions.hypervisor.map { ", \(name) \(HypervisorVersions.text($0))" } ?? ", \(name)'s version unknown"
    return HealthCheck(id, .ok, "libvirt \(HypervisorVersions.text(versions.libvirt))\(qemu)")
  }

  /// libvirt 9.0.0 refuses `<interface type='user'><backend type='passt'/>` (measured
  /// here with the test driver; libvirt issue #462 reports the same on Debian 12),
  /// although libvirt's documentation gives 9.0.0 for it: 9.1.0 is assumed the first
  /// that may have it.
  static let passtAssumedMinimum: UInt = 9_001_000

  func portForwarding(_ versions: HypervisorVersions?) -> HealthCheck {
    let id = "port_forwarding"
    guard let versions else { return HealthCheck(id, .skipped, Doctor.unreachable) }
    let libvirt = HypervisorVersions.text(versions.libvirt)
    let how =
      "forwards (SSH and `forward`) go through QEMU's own user networking (`-netdev user,hostfwd=…` in `<qemu:commandline>`), which works with every libvirt"
    if versions.libvirt < Doctor.passtAssumedMinimum {
      return HealthCheck(
        id, .ok, "\(how); libvirt \(libvirt) has no passt backend for `<interface type='user'>` to do it instead")
    }
    return HealthCheck(
      id, .ok,
      "\(how); libvirt \(libvirt) may also offer passt port forwarding (`<backend type='passt'/>`, documented from 9.0.0, though 9.0.0 refuses it), which Caravan does not use yet"
    )
  }

  /// libvirt's `<filesystem>` with `driver type='virtiofs'` appeared in 6.2.0.
  static let virtiofsLibvirtMinimum: UInt = 6_002_000

  func virtiofs(_ versions: HypervisorVersions?) -> HealthCheck {
    let id = "virtiofs"
    let feature = "`sync …, type: virtiofs`"
    guard let daemon = hostChecks.virtiofsd() else {
      let configured = environment["CARAVAN_VIRTIOFSD"].flatMap { $0.isEmpty ? nil : $0 }
      return HealthCheck(
        id, .warning,
        configured.map {
          "CARAVAN_VIRTIOFSD names '\($0)', which is not an executable file: \(feature) needs virtiofsd"
        }
          ?? "no virtiofsd (looked on PATH, at \(HostChecks.virtiofsdPlaces.joined(separator: " and "))): \(feature) needs it",
        fix:
          "Install it if you use \(feature): Debian 12's qemu-system-common has /usr/lib/qemu/virtiofsd, newer Debian a virtiofsd package; CARAVAN_VIRTIOFSD names another. `type: 9p` and `type: rsync` need no virtiofsd."
      )
    }
    let version = host.firstLine(of: [daemon, "--version"]).map { " (\($0))" } ?? ""
    if let versions, versions.libvirt < Doctor.virtiofsLibvirtMinimum {
      return HealthCheck(
        id, .warning,
        "virtiofsd at \(daemon)\(version), but libvirt \(HypervisorVersions.text(versions.libvirt)) is older than 6.2.0, which \(feature) needs",
        fix: "Use `type: 9p` or `type: rsync`, or a newer libvirt.")
    }
    return HealthCheck(id, .ok, "virtiofsd at \(daemon)\(version), for \(feature)")
  }

  /// As a normal user, qemu:///session is tried (once: `sameAs` is the libvirt
  /// check when that is the URI in use).
  func session(sameAs libvirtCheck: HealthCheck?) -> HealthCheck {
    guard !host.isRoot else { return hostChecks.session(tried: nil) }
    let tried: Result<Void, Error>
    if let libvirtCheck {
      tried =
        libvirtCheck.status == .ok
        ? .success(()) : .failure(CaravanError(.hypervisor, libvirtCheck.summary, hint: libvirtCheck.fix))
    } else {
      tried = Result { _ = try connect("qemu:///session") }
    }
    return hostChecks.session(tried: tried)
  }

  func poolDisk(_ facts: Result<StoragePoolFacts?, Error>, local: Bool) -> HealthCheck {
    let id = "disk_pool"
    guard case .success(let found?) = facts else { return HealthCheck(id, .skipped, Doctor.unreachable) }
    let name: String
    let place: String
    let free: UInt64?
    switch found {
    case .active(let poolName, let path, _, let available):
      name = poolName
      place = path ?? ""
      free = available
    case .inactive(let poolName, let path?) where local:
      name = poolName
      place = path
      free = host.freeBytes(path)
    case .missing(let poolName, let path) where local:
      name = poolName
      place = path
      free = host.freeBytes(path)
    case .inactive(let poolName, _), .missing(let poolName, _):
      return HealthCheck(id, .skipped, "storage pool '\(poolName)' is not active, and its host is not this one")
    }
    guard let free else {
      return HealthCheck(id, .warning, "cannot tell how much space is free for storage pool '\(name)' (\(place))")
    }
    let low = errorThreshold()
    let status: HealthCheck.Status = free < low ? .error : free < Doctor.warningThreshold ? .warning : .ok
    let limits = "error below \(ByteSize.text(low)), warning below \(ByteSize.text(Doctor.warningThreshold))"
    return HealthCheck(
      id, status,
      "storage pool '\(name)'\(place.isEmpty ? "" : " (\(place))") has \(ByteSize.text(free)) free (\(limits))",
      fix: status == .ok
        ? nil
        : "Free space there (`caravan box prune`, `caravan destroy` of machines no longer needed), or point `libvirt { pool }` at a pool on a larger file system."
    )
  }
}
