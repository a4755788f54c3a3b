import Boxes
import Foundation
import Support

/// One point `caravan doctor` checks: its outcome, what it found and, unless it is
/// fine, the fix.
public struct HealthCheck: Sendable, Equatable {
  public enum Status: String, Sendable, Equatable {
    /// Not checked: it does not apply here, or what it needs (libvirt) did not answer.
    case ok, warning, error, skipped
  }

  /// Stable, for scripts: `libvirt`, `storage_pool`, `kvm`, `kvm_device`, …
  public var id: String
  public var status: Status
  public var summary: String
  public var fix: String?

  public init(_ id: String, _ status: Status, _ summary: String, fix: String? = nil) {
    self.id = id
    self.status = status
    self.summary = summary
    self.fix = fix
  }
}

/// The versions a libvirt connection reports (`virConnectGetLibVersion`,
/// `virConnectGetVersion`), as major*1_000_000 + minor*1_000 + release.
public struct HypervisorVersions: Sendable, Equatable {
  public var libvirt: UInt
  /// QEMU's, for the qemu driver; nil when the driver says none.
  public var hypervisor: UInt?

  public init(libvirt: UInt, hypervisor: UInt?) {
    self.libvirt = libvirt
    self.hypervisor = hypervisor
  }

  /// `9000000` → `9.0.0`.
  public static func text(_ version: UInt) -> String {
    "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
  }
}

/// Caravan's storage pool as libvirt has it.
public enum StoragePoolFacts: Sendable, Equatable {
  /// Not defined: the first `up` defines it at `path`.
  case missing(name: String, path: String)
  case inactive(name: String, path: String?)
  case active(name: String, path: String?, capacity: UInt64, available: UInt64)
}

/// What `doctor` asks a libvirt connection, beside the `Hypervisor` a command
/// uses: narrow, so that tests fake it at this boundary.
public protocol HypervisorInspection {
  var uri: String { get }
  func versions() throws -> HypervisorVersions
  /// Whether libvirt offers KVM domains (its capabilities list `<domain type='kvm'>`).
  func offersKVM() throws -> Bool
  /// The pool `name` (nil: Caravan's `caravan`).
  func storagePool(named name: String?) throws -> StoragePoolFacts
}

/// `caravan doctor`: checks the host for what Caravan needs, each point with its
/// outcome and fix. Host facts come through `HostFacts`, libvirt's through
/// `HypervisorInspection`, so every outcome can be tested with fakes.
public struct Doctor {
  /// The connection URI in use, and where it came from (for the report).
  public var uri: String
  public var uriSource: String
  /// The Machinefile's `libvirt { pool }`; nil: `caravan`.
  public var pool: String?
  /// `$CARAVAN_HOME` (or its default).
  public var home: String
  public var boxes: BoxStore
  public var environment: [String: String]
  public var host: HostFacts
  /// Opens a connection; its error is the one commands show (with how to start libvirtd).
  public var connect: (String) throws -> HypervisorInspection
  /// The project's machines that ask for nested virtualisation (`libvirt { nested true }`):
  /// the `nested` check warns only for them.
  public var nestedMachines: [String] = []

  public init(
    uri: String, uriSource: String, pool: String?, home: String, boxes: BoxStore, environment: [String: String],
    host: HostFacts, connect: @escaping (String) throws -> HypervisorInspection
  ) {
    self.uri = uri
    self.uriSource = uriSource
    self.pool = pool
    self.home = home
    self.boxes = boxes
    self.environment = environment
    self.host = host
    self.connect = connect
  }

  var hostChecks: HostChecks { HostChecks(uri: uri, home: home, environment: environment, host: host) }

  /// Every check, in the order a reader fixes them: libvirt first, then what rests on it.
  public func run() -> [HealthCheck] {
    let local = LibvirtURI.isLocalURI(uri)
    var connection: HypervisorInspection?
    var checks: [HealthCheck] = []
    do {
      let opened = try connect(uri)
      connection = opened
      checks.append(libvirtReachable(opened))
    } catch {
      checks.append(libvirtUnreachable(error))
    }
    let versions = connection.flatMap { try? $0.versions() }
    let poolFacts = Result { try connection.map { try $0.storagePool(named: pool) } }
    checks.append(storagePool(poolFacts, reachable: connection != nil))
    checks.append(kvm(connection, local: local))
    checks.append(local ? hostChecks.kvmDevice() : remoteSkip("kvm_device", "/dev/kvm"))
    checks.append(
      local ? hostChecks.nesting(wantedBy: nestedMachines) : remoteSkip("nested", "KVM module's `nested` parameter"))
    checks.append(self.versions(versions, reachable: connection != nil))
    checks.append(portForwarding(versions))
    checks.append(virtiofs(versions))
    checks.append(session(sameAs: uri == "qemu:///session" ? checks[0] : nil))
    if LibvirtFolders.isSession(uri) {
      checks.append(hostChecks.sessionFolders())
      checks.append(hostChecks.rootOnlyFeatures())
    }
    checks.append(hostChecks.sshClient(withVersion: true))
    checks.append(hostChecks.homeDisk(errorBelow: errorThreshold(), warningBelow: Doctor.warningThreshold))
    checks.append(poolDisk(poolFacts, local: local))
    if local { checks.append(contentsOf: hostChecks.firmwareAndTPM()) }
    checks.append(contentsOf: hostChecks.optionalTools())
    return checks
  }

  func remoteSkip(_ id: String, _ what: String) -> HealthCheck {
    HealthCheck(id, .skipped, "libvirt at '\(uri)' is on another host: its \(what) is not checked from here")
  }

  // MARK: Thresholds

  /// Below this much free space, the disk checks fail: the largest installed box
  /// (another one that size must fit), at least 1 GiB.
  func errorThreshold() -> UInt64 { max(Doctor.gib, largestBox()?.bytes ?? 0) }
  /// Below this much, they warn: 5 GiB (room for a box and a few machines' disks).
  static let warningThreshold: UInt64 = 5 * Doctor.gib
  static let gib: UInt64 = 1 << 30

  /// The installed box version taking the most disk, with its size.
  func largestBox() -> (name: String, bytes: UInt64)? {
    guard let installed = try? boxes.list() else { return nil }
    return installed.map { box in
      let bytes = box.metadata.disks.indices.reduce(UInt64(0)) { $0 + (host.fileSize(box.imagePath(disk: $1)) ?? 0) }
      return (name: "\(box.name) (\(box.version))", bytes: bytes)
    }.max { $0.bytes < $1.bytes }
  }

}
