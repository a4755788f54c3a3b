// The machines of a Vagrantfile, each with its whole configuration as Vagrant merges
// it: the top-level `config` first, then its `define` block (a single-valued setting
// replaces the top level's, a synced folder replaces the one with the same guest path,
// the rest add to the top level's), and the implicit "." -> "/vagrant" folder.

/// One Vagrant machine, before machines are folded into `count:` blocks.
struct MachineDraft: Equatable {
  var name: String
  var line: Int
  var primary = false
  var autostart = true
  var settings: [Setting]
}

enum MachineDrafts {
  /// The machines `defines` makes (one `default` machine when there is none), each merged
  /// with `topLevel`; what their blocks leave out goes to `report`.
  static func make(topLevel: [Setting], defines: [ConfigEvent], report: inout ImportReport) -> [MachineDraft] {
    guard !defines.isEmpty else {
      return [MachineDraft(name: "default", line: 0, settings: withVagrantFolder(topLevel))]
    }
    var machines: [MachineDraft] = []
    for event in defines {
      let name = event.arguments.first.map(Convert.plainText) ?? "default"
      var reader = ScopeReader(topLevel: false)
      if let node = event.machine { reader.read(node) }
      report.merge(reader.report)
      if let index = machines.firstIndex(where: { $0.name == name }) {
        // A second `define` of one name adds to the first, as in Vagrant.
        machines[index].settings = merged(machines[index].settings, reader.settings)
        continue
      }
      var machine = MachineDraft(name: name, line: event.line, settings: merged(topLevel, reader.settings))
      if let primary = event.option("primary")?.bool { machine.primary = primary }
      if let autostart = event.option("autostart")?.bool { machine.autostart = autostart }
      machines.append(machine)
    }
    for index in machines.indices { machines[index].settings = withVagrantFolder(machines[index].settings) }
    return machines
  }

  /// `over` on top of `base`.
  static func merged(_ base: [Setting], _ over: [Setting]) -> [Setting] {
    var result = base
    for setting in over {
      if setting.isSingleValued, let index = result.firstIndex(where: { $0.name == setting.name }) {
        result[index] = setting
      } else if setting.name == "sync",
        let index = result.firstIndex(where: { syncDestination($0) == syncDestination(setting) })
      {
        result[index] = setting
      } else {
        result.append(setting)
      }
    }
    return result
  }

  static func syncDestination(_ setting: Setting) -> String? {
    guard setting.name == "sync", case .pair(_, let right)? = setting.values.first else { return nil }
    return right.string
  }

  /// Vagrant's implicit `"." -> "/vagrant"`, written out unless the Vagrantfile names that
  /// guest path itself; a disabled folder is left out (it means nothing in a Machinefile).
  static func withVagrantFolder(_ settings: [Setting]) -> [Setting] {
    var result = settings
    if !settings.contains(where: { syncDestination($0) == "/vagrant" }) {
      let first = result.firstIndex { $0.name == "sync" } ?? result.endIndex
      result.insert(Setting("sync", [.pair(.text("."), .text("/vagrant"))], line: 0), at: first)
    }
    return result.filter { $0.name != "sync" || $0.option("disabled") != .bool(true) }
  }
}
