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
  /// `libvirt { nested true }`: the guest's CPU gets the host's virtualisation
  /// extension (under KVM; TCG has none to give).
  public var nested: Bool
  public var pool: String?
  /// Host folders the domain shares with the guest (`sync …, type: 9p|virtiofs`).
  public var sharedFolders: [SharedFolder]
  /// NICs besides the management one: private networks and host bridges, in Machinefile order.
  public var attachments: [NetworkAttachment]
  /// Disks beyond the box's, the seed, firmware, TPM and display.
  public var devices = MachineDevices()

  public init(
    domainName: String, projectRoot: String, machineName: String, cpus: Int, memoryMiB: UInt64,
    box: InstalledBox, forwards: [ResolvedForward], accelerator: Accelerator, network: NetworkPlan,
    machineType: String? = nil, cpuMode: String? = nil, nested: Bool = false, pool: String? = nil,
    sharedFolders: [SharedFolder] = [], attachments: [NetworkAttachment] = []
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
    self.nested = nested
    self.pool = pool
    self.sharedFolders = sharedFolders
    self.attachments = attachments
  }
}

/// What a machine has beyond its box's disks and its NICs, resolved from the
/// Machinefile (`disk`, `volume`, `cloud_init`, `libvirt { firmware secure_boot tpm
/// graphics }`).
public struct MachineDevices: Sendable, Equatable {
  /// The root disk's virtual size when `disk` asks for more than the box's; the
  /// overlay is made (or grown, while the domain is off) to it, never shrunk.
  public var rootDiskBytes: UInt64?
  /// Blank disks (`volume`), in file order, after the box's.
  public var volumes: [VolumeSpec] = []
  /// The cloud-init NoCloud seed's ISO 9660 image, attached as a CD-ROM.
  public var seed: Data?
  public var firmware: LibvirtSettings.Firmware = .bios
  public var secureBoot = false
  public var tpm = false
  public var graphics: LibvirtSettings.Graphics = .none

  public init(
    rootDiskBytes: UInt64? = nil, volumes: [VolumeSpec] = [], seed: Data? = nil,
    firmware: LibvirtSettings.Firmware = .bios, secureBoot: Bool = false, tpm: Bool = false,
    graphics: LibvirtSettings.Graphics = .none
  ) {
    self.rootDiskBytes = rootDiskBytes
    self.volumes = volumes
    self.seed = seed
    self.firmware = secureBoot ? .uefi : firmware
    self.secureBoot = secureBoot
    self.tpm = tpm
    self.graphics = graphics
  }
}
