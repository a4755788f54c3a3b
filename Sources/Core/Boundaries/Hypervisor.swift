import Boxes
import Foundation
import Spec
import Support

/// The boundary to the virtualisation layer, by capability: `Hypervisor` is what
/// every machine needs (define, start, stop, remove, facts); saved memory and
/// snapshots, private networks and warm states are capabilities of their own
/// (`HypervisorSavedStates`, `HypervisorNetworks`, `HypervisorWarmStates`), which
/// the engine asks for where it needs them (`Lifecycle.savedStates` …), so a
/// driver or a fake without one still runs every machine that does not use it.
/// The libvirt driver implements them all; every method blocks. Shared by the
/// workers of a parallel `up`.
public protocol Hypervisor: BoxVolumes, Sendable {
  var uri: String { get }
  /// The `libvirt { … }` settings this driver acts on.
  var support: SettingSupport { get }
  /// The machine's state, asked live; `.notCreated` when no such domain exists.
  func status(domain: String) throws -> MachineStatus
  /// The domain's UUID, nil when it does not exist.
  func uuid(domain: String) throws -> String?
  func chooseAccelerator(_ requested: LibvirtSettings.Accel) throws -> AcceleratorChoice
  /// The libvirt host's CPUs and the memory it could give guests now (for how many
  /// machines `up` boots at once).
  func hostResources() throws -> HostResources
  /// Imports the box's images into the storage pool `pool` (nil: the default)
  /// unless they are there; done before the port lock, so one import does not
  /// hold up other `up`s.
  func importBox(_ box: InstalledBox, pool: String?, progress: (String) -> Void) throws
  /// Imports the box if needed, defines (or redefines) the domain and creates
  /// the machine's disk if missing; returns its UUID. Does not start it.
  func define(_ plan: MachinePlan, progress: (String) -> Void) throws -> String
  /// Refuses, before anything is made, host folders the domain's QEMU could not share
  /// (9p on a connection whose QEMU runs as its own user must reach them as that user).
  func checkSharedFolders(_ folders: [SharedFolder], machine: String) throws
  func start(domain: String) throws
  /// ACPI power button; returns at once.
  func requestShutdown(domain: String) throws
  /// Pulls the plug; no error when already off.
  func forceOff(domain: String) throws
  /// Removes the domain and every volume Caravan made for it (also when the
  /// domain is gone but its disk is not), its NVRAM and TPM state; no error when
  /// already gone. `keepLogs` leaves the console log for the user to read;
  /// `keepVolumes` names the `volume`s (`keep: true`) left in the pool, whose paths
  /// it returns.
  @discardableResult
  func remove(domain: String, keepLogs: Bool, keepVolumes: Set<String>) throws -> [String]
  /// Powers the domain off and undefines it, keeping its disks in the pool (a
  /// failed `up` on a disk it did not make); no error when it is gone.
  func undefine(domain: String) throws
  /// The Caravan facts of a domain, nil when there is no such domain or it
  /// carries no Caravan metadata.
  func facts(domain: String) throws -> DomainFacts?
  /// Whether the machine's disk (its overlay on the box) is in the pool.
  func diskExists(domain: String) throws -> Bool
  /// Keeps `progress` in the domain, for `facts`.
  func recordProgress(_ progress: MachineProgress, domain: String) throws
  /// Domain names carrying Caravan metadata for this project folder.
  func domains(ofProject projectRoot: String) throws -> [String]
  /// Where the guest's serial console is logged (for boot problems).
  func consoleLogPath(domain: String) -> String
  /// The last error lines QEMU logged for the domain, when they can be read.
  func startLog(domain: String) -> String?

  /// Every domain on this connection that carries Caravan metadata, with its state.
  func caravanDomains() throws -> [CaravanDomain]
  /// The displays (`libvirt { graphics vnc|spice }`) of a running domain, with the
  /// ports libvirt chose for them.
  func displays(domain: String) throws -> [Display]
}

/// A running machine's display: `vnc` or `spice` on `hostIP:port`.
public struct Display: Sendable, Equatable {
  public var type: String
  public var hostIP: String
  public var port: Int
  public init(type: String, hostIP: String, port: Int) {
    self.type = type
    self.hostIP = hostIP
    self.port = port
  }
  /// `vnc://127.0.0.1:5900`, what a viewer (`remote-viewer`) opens.
  public var url: String { "\(type)://\(hostIP):\(port)" }
}

/// Every capability: what the libvirt driver is.
public typealias FullHypervisor = Hypervisor & HypervisorSavedStates & HypervisorNetworks & HypervisorWarmStates

extension Hypervisor {
  /// No displays: a hypervisor that gives its domains none.
  public func displays(domain: String) throws -> [Display] { [] }
  /// Nothing to check for a hypervisor that shares folders as the caller.
  public func checkSharedFolders(_ folders: [SharedFolder], machine: String) throws {}
  /// Removes the domain, its disks and its logs.
  public func remove(domain: String) throws { try remove(domain: domain, keepLogs: false) }
  /// Removes the domain and all its disks and volumes.
  public func remove(domain: String, keepLogs: Bool) throws {
    try remove(domain: domain, keepLogs: keepLogs, keepVolumes: [])
  }
}
