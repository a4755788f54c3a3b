import Spec

/// Which Machinefile settings the pieces in use act on. Each piece declares its
/// own next to the code that implements it (the engine here, the hypervisor
/// driver and the provisioner runner in theirs); `up` warns about the rest, and
/// `caravan validate --json` lists them.
public struct SettingSupport: Sendable, Equatable {
  /// Setting names as `UsedSetting` spells them: `memory`, `ssh.user`, `libvirt.accel`.
  public var settings: Set<String>
  /// Provisioner types that run: `shell`.
  public var provisionerTypes: Set<String>

  public init(settings: Set<String> = [], provisionerTypes: Set<String> = []) {
    self.settings = settings
    self.provisionerTypes = provisionerTypes
  }

  /// What the engine itself acts on: the machine's size, box, hostname, SSH,
  /// forwards, boot timeout, triggers, and running provisioners (whose types the runner declares).
  public static let engine = SettingSupport(settings: [
    "version", "box", "cpus", "memory", "forward", "provision", "machine", "hostname", "boot_timeout",
    "graceful_halt_timeout", "trigger", "disk", "volume", "cloud_init",
    "ssh", "ssh.user", "ssh.port", "ssh.private_key", "ssh.insert_key", "ssh.forward_agent", "ssh.extra_args",
  ])

  public func union(_ other: SettingSupport) -> SettingSupport {
    SettingSupport(
      settings: settings.union(other.settings), provisionerTypes: provisionerTypes.union(other.provisionerTypes))
  }

  /// Settings the machine uses that are not acted on, plus provisioner types
  /// that cannot run (as `provision file`), with where they were written; each once.
  public func unsupported(in machine: MachineSpec) -> [UsedSetting] {
    var result = machine.settingsUsed.filter { !settings.contains($0.name) }
    for provisioner in machine.provisioners where !provisionerTypes.contains(provisioner.kind.typeName) {
      result.append(UsedSetting(name: "provision \(provisioner.kind.typeName)", location: provisioner.location))
    }
    var seen = Set<String>()
    return result.filter { seen.insert($0.name).inserted }
  }
}
