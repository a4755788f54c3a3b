// What a Machinefile means, as typed values: what every command works from.
// The Machinefile module's lowering fills these from a validated AST; defaults live here.

/// A place in a Machinefile, 1-based.
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
  public var line: Int
  public var column: Int
  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
  public var description: String { "\(line):\(column)" }
}

public struct ProjectSpec: Sendable, Equatable {
  /// The language version the file declared (1 when absent).
  public var version: Int
  /// Machines in file order; a `count: N` machine is expanded into N machines
  /// named `NAME-1` … `NAME-N`.
  public var machines: [MachineSpec]
  /// The file's `var`s, in file order, with their values and where each came from.
  public var variables: [Variable] = []

  public init(version: Int = 1, machines: [MachineSpec]) {
    self.version = version
    self.machines = machines
  }

  /// The machine marked `primary: true`, else the only machine, else nil.
  public var primaryMachine: MachineSpec? {
    machines.first(where: { $0.primary }) ?? (machines.count == 1 ? machines.first : nil)
  }

  public func machine(named name: String) -> MachineSpec? {
    machines.first(where: { $0.name == name })
  }
}

/// A `var` of a Machinefile as resolved: its value and where it came from (`--var`,
/// `--var-file FILE:LINE`, `Machinefile.vars:LINE`, `environment` or `default`).
public struct Variable: Sendable, Equatable {
  public var name: String
  public var value: String
  public var source: String
  public init(name: String, value: String, source: String) {
    self.name = name
    self.value = value
    self.source = source
  }
}

public struct MachineSpec: Sendable, Equatable {
  public var name: String
  /// Index of this copy of a `count:` machine (counting from its `first:`, default 1), 1 otherwise.
  public var index: Int = 1
  public var primary: Bool = false
  public var autostart: Bool = true

  public var box: BoxRequirement?
  public var cpus: Int = 1
  public var memoryBytes: UInt64 = 1 << 30
  public var diskBytes: UInt64?
  public var volumes: [VolumeSpec] = []
  public var hostname: String?
  public var forwards: [PortForward] = []
  public var networks: [NetworkSpec] = []
  public var syncs: [SyncSpec] = []
  public var provisioners: [ProvisionerSpec] = []
  public var triggers: [TriggerSpec] = []
  public var bootTimeoutSeconds: Double = 300
  /// How long each halt stage (poweroff over SSH, then ACPI) may take before the next.
  public var gracefulHaltTimeoutSeconds: Double = 60
  public var ssh: SSHSettings = SSHSettings()
  public var libvirt: LibvirtSettings = LibvirtSettings()
  /// `cloud_init`: the user's own cloud-init data, merged with Caravan's user, key and hostname.
  public var cloudInit: CloudInitSpec?

  /// Settings this machine uses (its own or inherited) by name, with where each
  /// was written, so that `up` can name the ones it cannot act on yet.
  public var settingsUsed: [UsedSetting] = []

  public init(name: String) { self.name = name }

  public var memoryMiB: UInt64 { memoryBytes / (1 << 20) }

  /// The names of the volumes `destroy` leaves in the pool (`keep: true`).
  public var keptVolumes: Set<String> { Set(volumes.filter(\.keep).map(\.name)) }
}

public struct UsedSetting: Sendable, Equatable {
  /// `memory`, `sync`, `ssh.forward_agent`, `libvirt.firmware`, …
  public var name: String
  public var location: SourceLocation
  public init(name: String, location: SourceLocation) {
    self.name = name
    self.location = location
  }
}

public struct BoxRequirement: Sendable, Equatable {
  public var name: String
  /// e.g. `~> 12.0, >= 12.1`; nil means any version.
  public var version: VersionConstraint?
  public var url: String?
  /// `sha256:ab…`.
  public var checksum: Checksum?
  /// A `SHA256SUMS`/`SHA512SUMS` (or BSD-format `CHECKSUM`) file whose line for the
  /// image's file name gives its checksum; exclusive with `checksum`.
  public var checksumURL: String?
  public init(
    name: String, version: VersionConstraint? = nil, url: String? = nil, checksum: Checksum? = nil,
    checksumURL: String? = nil
  ) {
    self.name = name
    self.version = version
    self.url = url
    self.checksum = checksum
    self.checksumURL = checksumURL
  }
}

public enum TransportProtocol: String, Sendable, Equatable, CaseIterable {
  case tcp, udp
}

public struct PortForward: Sendable, Equatable {
  public var host: Int
  public var guest: Int
  public var transport: TransportProtocol = .tcp
  public var hostIP: String = "127.0.0.1"
  public var autoCorrect: Bool = true
  public var id: String?
  public init(host: Int, guest: Int) {
    self.host = host
    self.guest = guest
  }
}

public struct VolumeSpec: Sendable, Equatable {
  public enum Bus: String, Sendable, Equatable, CaseIterable { case virtio, scsi, sata }
  public var name: String
  public var sizeBytes: UInt64
  public var bus: Bus = .virtio
  /// `keep: true`: `destroy` leaves the volume in the pool (and says where); the
  /// machine's next first `up` attaches it again.
  public var keep: Bool = false
  public init(name: String, sizeBytes: UInt64) {
    self.name = name
    self.sizeBytes = sizeBytes
  }
}

public enum NetworkSpec: Sendable, Equatable {
  /// `network private, ip: "10.20.0.11", netmask: "255.255.255.0"` or `dhcp: true` (ip nil);
  /// `ip:` may be IPv6 (`"fd00:10::11", prefix: 64`); `prefix:` stands for `netmask:` in either family.
  case privateNetwork(ip: String?, netmask: String?, prefix: Int? = nil)
  /// `network public, bridge: "br0"`.
  case publicNetwork(bridge: String?)
}

public struct SyncSpec: Sendable, Equatable {
  public enum Kind: String, Sendable, Equatable, CaseIterable {
    case rsync, virtiofs
    case ninep = "9p"
  }
  public var source: String
  public var destination: String
  public var kind: Kind = .rsync
  public var exclude: [String] = []
  public var disabled: Bool = false
  public var owner: String?
  public var group: String?
  public init(source: String, destination: String) {
    self.source = source
    self.destination = destination
  }
}

public enum RunPolicy: String, Sendable, Equatable, CaseIterable {
  case once, always, never
}

public struct ProvisionerSpec: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Exactly one of `inline` and `path` is set.
    case shell(ShellProvisioner)
    case file(source: String, destination: String)
    case ansible(AnsibleProvisioner)
    case puppet(PuppetProvisioner)

    /// The type as the Machinefile writes it: `shell`, `file`, `ansible`.
    public var typeName: String {
      switch self {
      case .shell: return "shell"
      case .file: return "file"
      case .ansible: return "ansible"
      case .puppet: return "puppet"
      }
    }
  }
  /// `name:` if given, else `<type>-<n>` where n counts provisioners of the machine from 1.
  public var name: String
  public var run: RunPolicy = .once
  public var kind: Kind
  public var location: SourceLocation
  public init(name: String, kind: Kind, location: SourceLocation) {
    self.name = name
    self.kind = kind
    self.location = location
  }
}

public struct ShellProvisioner: Sendable, Equatable {
  public var inline: String?
  public var path: String?
  public var args: [String] = []
  public var env: [String: String] = [:]
  public var privileged: Bool = true
  public var uploadPath: String?
  public init(inline: String? = nil, path: String? = nil) {
    self.inline = inline
    self.path = path
  }
}

/// Masterless Puppet, as Vagrant's: the manifest (and modules) uploaded, then
/// `puppet apply` in the guest with the facts as `FACTER_` variables.
public struct PuppetProvisioner: Sendable, Equatable {
  /// Host file, relative to the project; Vagrant's default.
  public var manifest: String = "manifests/default.pp"
  /// Host folder of modules.
  public var modules: String?
  public var facts: [String: String] = [:]
  /// Extra `puppet apply` arguments.
  public var options: [String] = []
  public init() {}
}

public struct TriggerSpec: Sendable, Equatable {
  public enum When: String, Sendable, Equatable { case before, after }
  public enum OnError: String, Sendable, Equatable, CaseIterable { case halt, `continue` }
  public var when: When
  /// Command names: `up`, `halt`, `destroy`, … .
  public var commands: [String]
  public var run: String?
  public var runRemote: String?
  public var onError: OnError = .halt
  public var location: SourceLocation
  public init(when: When, commands: [String], location: SourceLocation) {
    self.when = when
    self.commands = commands
    self.location = location
  }
}

public struct SSHSettings: Sendable, Equatable {
  public var user: String = "vagrant"
  /// The guest's SSH port (the forwarded host port is chosen by `up`).
  public var port: Int = 22
  public var privateKey: String?
  public var insertKey: Bool = true
  public var forwardAgent: Bool = false
  public var extraArgs: [String] = []
  public init() {}
}

public struct LibvirtSettings: Sendable, Equatable {
  public enum Accel: String, Sendable, Equatable, CaseIterable { case auto, kvm, tcg }
  public enum Firmware: String, Sendable, Equatable, CaseIterable { case bios, uefi }
  public enum Graphics: String, Sendable, Equatable, CaseIterable { case none, vnc, spice }
  /// nil: `$CARAVAN_LIBVIRT_URI`, else qemu:///system for root, qemu:///session otherwise.
  public var uri: String?
  public var accel: Accel = .auto
  public var machineType: String?
  public var cpuMode: String?
  /// The guest sees the host's virtualisation extension (vmx or svm), under KVM.
  public var nested: Bool = false
  public var firmware: Firmware = .bios
  /// `secure_boot true`: UEFI with Secure Boot and Microsoft's keys enrolled (implies uefi).
  public var secureBoot: Bool = false
  /// `tpm true`: an emulated TPM 2.0 (swtpm).
  public var tpm: Bool = false
  public var graphics: Graphics = .none
  public var pool: String?
  /// Start from the box's saved running state instead of booting.
  public var warm: Bool = false
  public init() {}
}
