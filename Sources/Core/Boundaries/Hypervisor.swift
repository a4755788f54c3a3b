import Boxes
import Foundation
import Spec
import Support

public enum Accelerator: String, Sendable, Equatable {
  case kvm, tcg
}

/// Which accelerator `up` uses and why, said in its output.
public struct AcceleratorChoice: Sendable, Equatable {
  public var accelerator: Accelerator
  public var reason: String
  public init(_ accelerator: Accelerator, reason: String) {
    self.accelerator = accelerator
    self.reason = reason
  }
}

/// A port forward as `up` bound it: on the host's `hostIP:host`, to the guest's `guest`.
public struct ResolvedForward: Sendable, Equatable, CustomStringConvertible {
  public var transport: TransportProtocol
  public var hostIP: String
  public var host: Int
  public var guest: Int
  public init(transport: TransportProtocol, hostIP: String, host: Int, guest: Int) {
    self.transport = transport
    self.hostIP = hostIP
    self.host = host
    self.guest = guest
  }
  public var description: String { "\(transport.rawValue) \(hostIP):\(host) -> \(guest)" }

  /// Reads `description` back: `tcp 127.0.0.1:8080 -> 80` (an IPv6 address keeps its colons).
  public init?(parsing text: String) {
    let parts = text.split(separator: " ")
    guard parts.count == 4, parts[2] == "->", let transport = TransportProtocol(rawValue: String(parts[0])),
      let guest = Int(parts[3]), let colon = parts[1].lastIndex(of: ":"),
      let host = Int(parts[1][parts[1].index(after: colon)...])
    else { return nil }
    self.init(transport: transport, hostIP: String(parts[1][..<colon]), host: host, guest: guest)
  }
}

/// A stopped machine's state that comes back with the forwards it was saved
/// with: its saved memory (`suspend`) or a snapshot.
public enum KeptState: Sendable, Equatable {
  case savedMemory
  case snapshot(String)
}

/// How far a machine's first `up` got, kept in the domain itself (libvirt is the
/// truth), so a machine whose `.caravan/` state is lost can be adopted as it was.
public struct MachineProgress: Sendable, Equatable {
  public var keyReplaced: Bool
  public var provisioned: [String]
  public var upCompleted: Bool
  /// A warm start whose guest does not have its own identity yet.
  public var identityPending: Bool
  public init(keyReplaced: Bool, provisioned: [String], upCompleted: Bool, identityPending: Bool = false) {
    self.keyReplaced = keyReplaced
    self.provisioned = provisioned
    self.upCompleted = upCompleted
    self.identityPending = identityPending
  }
}

/// What libvirt knows of a domain Caravan made: enough to rebuild its record.
public struct DomainFacts: Sendable, Equatable {
  public var uuid: String
  public var projectRoot: String
  public var machineName: String
  public var boxName: String
  public var boxVersion: String
  /// SSH first, as `up` defined them.
  public var forwards: [ResolvedForward]
  public var accelerator: Accelerator
  /// nil when the domain carries none (made by an older Caravan).
  public var progress: MachineProgress?
  public init(
    uuid: String, projectRoot: String, machineName: String, boxName: String, boxVersion: String,
    forwards: [ResolvedForward], accelerator: Accelerator, progress: MachineProgress?
  ) {
    self.uuid = uuid
    self.projectRoot = projectRoot
    self.machineName = machineName
    self.boxName = boxName
    self.boxVersion = boxVersion
    self.forwards = forwards
    self.accelerator = accelerator
    self.progress = progress
  }
}

/// How a machine reaches the network.
public enum NetworkPlan: Sendable, Equatable {
  /// QEMU user-mode NAT with the forwards bound on the host; `restricted`: the
  /// guest gets no outbound network, only its forwarded ports (`CARAVAN_NAT_RESTRICT=1`).
  case userMode(restricted: Bool)
}

/// Everything the hypervisor needs to define (or redefine) one machine's
/// domain, resolved: no Machinefile setting is left for the driver to interpret.
public struct MachinePlan: Sendable {
  public var domainName: String
  public var projectRoot: String
  public var machineName: String
  public var cpus: Int
  public var memoryMiB: UInt64
  public var box: InstalledBox
  /// SSH first, then the Machinefile's forwards.
  public var forwards: [ResolvedForward]
  public var accelerator: Accelerator
  public var network: NetworkPlan
  /// `libvirt { machine_type cpu_mode pool }`; nil: the driver's default.
  public var machineType: String?
  public var cpuMode: String?
  public var pool: String?
  /// Host folders the domain shares with the guest (`sync …, type: 9p|virtiofs`).
  public var sharedFolders: [SharedFolder]
  /// NICs besides the management one: private networks and host bridges, in Machinefile order.
  public var attachments: [NetworkAttachment]

  public init(
    domainName: String, projectRoot: String, machineName: String, cpus: Int, memoryMiB: UInt64,
    box: InstalledBox, forwards: [ResolvedForward], accelerator: Accelerator, network: NetworkPlan,
    machineType: String? = nil, cpuMode: String? = nil, pool: String? = nil, sharedFolders: [SharedFolder] = [],
    attachments: [NetworkAttachment] = []
  ) {
    self.domainName = domainName
    self.projectRoot = projectRoot
    self.machineName = machineName
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.box = box
    self.forwards = forwards
    self.accelerator = accelerator
    self.network = network
    self.machineType = machineType
    self.cpuMode = cpuMode
    self.pool = pool
    self.sharedFolders = sharedFolders
    self.attachments = attachments
  }
}

/// The boundary to the virtualisation layer. The libvirt driver implements it;
/// unit tests replace it with a fake. Every method blocks; shared by the workers of a parallel `up`.
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
  /// domain is gone but its disk is not); no error when already gone.
  /// `keepLogs` leaves the console log for the user to read.
  func remove(domain: String, keepLogs: Bool) throws
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

  // Saved memory (`suspend`/`resume`), snapshots, and every Caravan domain (`global-status`).

  /// Saves the guest's memory to disk and stops the domain (libvirt managed
  /// save); its status becomes `.saved` and `start` continues it.
  func saveMemory(domain: String) throws
  /// Deletes the saved memory of a `.saved` domain, so it is powered off and
  /// the next `start` boots afresh; no error when there is none.
  func discardSavedMemory(domain: String) throws
  /// Lets a `.paused` domain run again.
  func unpause(domain: String) throws
  /// Takes an internal snapshot: disks and, when the guest runs, its memory.
  func createSnapshot(domain: String, name: String, description: String?) throws
  /// The domain's snapshots, oldest first.
  func snapshots(domain: String) throws -> [SnapshotInfo]
  /// Puts the domain back as the snapshot has it: running or stopped, as it was then.
  func revertToSnapshot(domain: String, name: String) throws
  /// The forwards QEMU binds when `state` is brought back (`start` of saved
  /// memory, a snapshot's revert), SSH first.
  func forwards(domain: String, in state: KeptState) throws -> [ResolvedForward]
  /// Moves `from` to `to`'s host port in `state` and in the domain's definition.
  func moveForward(domain: String, in state: KeptState, from: ResolvedForward, to: ResolvedForward) throws
  func deleteSnapshot(domain: String, name: String) throws
  /// Every domain on this connection that carries Caravan metadata, with its state.
  func caravanDomains() throws -> [CaravanDomain]

  // Private networks (`network private`) and host bridges (`network public`).

  /// The connection's networks (with their users), and the host's routes and
  /// bridges when the libvirt host is this machine.
  func networkInventory() throws -> NetworkInventory
  /// Defines and starts `network` when it is missing, starts it when it is
  /// defined but stopped; returns true when it defined it.
  func ensureNetwork(_ network: PrivateNetwork) throws -> Bool
  /// Stops and undefines the network; no error when it is already gone.
  func removeNetwork(named name: String) throws

  // Warm starts (`up --warm`, `box warm`): a box's saved running state.

  /// The storage pool a machine asking for `pool` (nil: the default) uses.
  func effectivePool(_ pool: String?) -> String
  /// What a warm state must have been made for to start the machine of `plan`.
  func warmFingerprint(for plan: MachinePlan) throws -> WarmFingerprint
  /// The state's size on disk now; nil when its volume is gone.
  func warmStateSize(_ state: WarmState) throws -> UInt64?
  /// Defines and starts the template of `plan` (named `plan.domainName`, its
  /// first forward SSH) on a new overlay of the box, which becomes the state.
  func startWarmTemplate(_ plan: MachinePlan, progress: (String) -> Void) throws
  /// Takes the running template's disk and memory into its overlay, powers it
  /// off and undefines it; the overlay stays as the state's volume.
  func captureWarmState(template plan: MachinePlan) throws -> (volume: String, pool: String, sizeBytes: UInt64)
  /// Removes the template domain `template` (if any) and the box's state
  /// volume in `pool`; no error when they are gone.
  func removeWarmState(box: InstalledBox, pool: String, template: String) throws
  /// Removes a template domain and the unfinished state volume its metadata
  /// names (what a killed `up` left); no error when it is gone.
  func removeWarmTemplate(_ domain: String) throws
  /// Defines the machine of `plan` (without its extra NICs) on a copy of the
  /// state, with libvirt told of the snapshot in it; does not start it.
  /// Returns the domain's UUID.
  func defineWarm(_ plan: MachinePlan, from state: WarmState) throws -> String
  /// Starts a machine `defineWarm` made from the saved memory, hot-plugs the
  /// plan's extra NICs (kept for later boots) and deletes the snapshot from its disk.
  func startWarm(_ plan: MachinePlan) throws
}

/// What the libvirt host has for guests: its logical CPUs and the memory it could
/// give them now (free plus page cache; nil when libvirt cannot say).
public struct HostResources: Sendable, Equatable {
  public var cpus: Int
  public var availableMemoryMiB: Int?
  public init(cpus: Int, availableMemoryMiB: Int?) {
    self.cpus = cpus
    self.availableMemoryMiB = availableMemoryMiB
  }
}

/// A snapshot of a machine as `snapshot list` shows it.
public struct SnapshotInfo: Sendable, Equatable {
  public var name: String
  public var createdAt: Date
  /// The machine's state when it was taken: `.running` (with memory), `.poweroff`, `.paused`.
  public var state: MachineStatus
  public var description: String?

  public init(name: String, createdAt: Date, state: MachineStatus, description: String? = nil) {
    self.name = name
    self.createdAt = createdAt
    self.state = state
    self.description = description
  }
}

/// A domain Caravan made, found by its metadata: which project folder and
/// machine it belongs to, and its live state.
public struct CaravanDomain: Sendable, Equatable {
  public var domain: String
  public var projectRoot: String
  public var machine: String
  public var status: MachineStatus

  public init(domain: String, projectRoot: String, machine: String, status: MachineStatus) {
    self.domain = domain
    self.projectRoot = projectRoot
    self.machine = machine
    self.status = status
  }
}

extension Hypervisor {
  /// Nothing to check for a hypervisor that shares folders as the caller.
  public func checkSharedFolders(_ folders: [SharedFolder], machine: String) throws {}
  /// Removes the domain, its disks and its logs.
  public func remove(domain: String) throws { try remove(domain: domain, keepLogs: false) }
}
