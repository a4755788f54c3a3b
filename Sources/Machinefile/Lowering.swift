// Turns a validated file into a ProjectSpec: top-level settings are defaults every machine
// inherits; a machine's single-valued settings replace them; multi-valued ones (volume,
// forward, network, sync, trigger, provision) are the top level's then the machine's own.
// A `count: N` machine becomes N machines `NAME-F` … `NAME-(F+N-1)` (F is `first:`, default
// 1), with `${index}` and `${name}` expanded for each copy; `count: 0` makes none.

import Spec
import Support

enum Lowering {
  static func lower(_ file: CheckedFile, environment: [String: String]) -> ProjectSpec {
    var machines: [MachineSpec] = []
    machines.reserveCapacity(file.machines.reduce(0) { $0 + $1.copies.count })
    let defaults = file.defaults
    for declaration in file.machines {
      let own = declaration.settings
      let single =
        defaults.single.values.filter { own.single[$0.name] == nil }.sorted(by: writtenEarlier)
        + own.single.values.sorted(by: writtenEarlier)
      let multi = defaults.multi + own.multi
      let provisioners = defaults.provisioners + own.provisioners
      let used =
        (single.map { UsedSetting(name: $0.name, location: $0.location) }
        + multi.map { UsedSetting(name: $0.name, location: $0.location) }
        + provisioners.map { UsedSetting(name: "provision", location: $0.location) })
        .sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }

      for copy in declaration.copies {
        var machine = MachineSpec(name: copy.name)
        machine.index = copy.index
        machine.primary = declaration.primary
        machine.autostart = declaration.autostart
        let expansion = Expansion(
          environment: environment, machineName: copy.name, machineIndex: copy.index, machinePosition: copy.position)
        for setting in single { setting.apply(&machine, expansion) }
        for setting in multi { setting.apply(&machine, expansion) }
        for (position, checked) in provisioners.enumerated() {
          var provisioner = checked.make(expansion)
          provisioner.name = checked.explicitName.map(expansion.expand) ?? "\(checked.type)-\(position + 1)"
          machine.provisioners.append(provisioner)
        }
        machine.settingsUsed = used
        machines.append(machine)
      }
    }
    return ProjectSpec(version: file.version, machines: machines)
  }

  private static func writtenEarlier(_ a: CheckedSetting, _ b: CheckedSetting) -> Bool {
    (a.location.line, a.location.column, a.name) < (b.location.line, b.location.column, b.name)
  }
}
