import Spec
import Support

/// Settings the engine acts on today. Everything else a Machinefile may say is
/// accepted by the language, and `up` names it as not supported yet.
public enum SupportedSettings {
  public static let names: Set<String> = [
    "version", "box", "cpus", "memory", "forward", "provision", "machine", "hostname", "boot_timeout",
    "ssh", "ssh.user", "ssh.port", "ssh.private_key", "ssh.insert_key", "ssh.forward_agent", "ssh.extra_args",
    "libvirt", "libvirt.uri", "libvirt.accel", "libvirt.pool",
  ]

  /// Settings the machine uses that the engine does not act on yet, plus
  /// provisioner types it cannot run yet, with where they were written.
  public static func unsupported(in machine: MachineSpec) -> [UsedSetting] {
    var result = machine.settingsUsed.filter { !names.contains($0.name) }
    for provisioner in machine.provisioners {
      switch provisioner.kind {
      case .shell: break
      case .file: result.append(UsedSetting(name: "provision file", location: provisioner.location))
      case .ansible: result.append(UsedSetting(name: "provision ansible", location: provisioner.location))
      }
    }
    var seen = Set<String>()
    return result.filter { seen.insert($0.name).inserted }
  }
}
