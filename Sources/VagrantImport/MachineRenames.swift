// Machine names the Machinefile gives differently (`node1` → `node-1` in a `count:`
// block, a name with characters it does not take): noted, and changed where an ansible
// provisioner names machines (`groups:`, `host_vars:`, `limit:`).

enum MachineRenames {
  static func apply(to groups: inout [MachineGroup], report: inout ImportReport) {
    var renamed: [String: String] = [:]
    for group in groups {
      for (old, new) in zip(group.vagrantNames, group.instanceNames) where old != new { renamed[old] = new }
      note(group, report: &report)
    }
    guard !renamed.isEmpty else { return }
    for index in groups.indices {
      groups[index].settings = groups[index].settings.map { rename($0, renamed) }
    }
  }

  private static func note(_ group: MachineGroup, report: inout ImportReport) {
    let changed = group.vagrantNames != group.instanceNames
    if let count = group.count, let first = group.vagrantNames.first, let last = group.vagrantNames.last {
      let instances =
        changed ? " (named \(group.instanceNames.first ?? "")…\(group.instanceNames.last ?? ""))" : ""
      report.note(
        group.line, "machines \(first)…\(last)",
        "written as machine \"\(group.name)\", count: \(count.count)\(count.first == 1 ? "" : ", first: \(count.first)")\(instances)"
      )
    } else if changed, let old = group.vagrantNames.first {
      report.note(
        group.line, "machine \"\(old)\"",
        "named \"\(group.name)\": a Machinefile name has letters, digits, '-', '_' and '.'")
    }
  }

  private static func rename(_ setting: Setting, _ renamed: [String: String]) -> Setting {
    guard setting.name == "provision", setting.values.first == .word("ansible") else { return setting }
    var setting = setting
    for index in setting.options.indices {
      let option = setting.options[index]
      switch (option.key, option.value) {
      case ("groups", .map(let entries)):
        setting.options[index].value = .map(
          entries.map { entry in
            entry.key.contains(":") ? entry : Written.Entry(key: entry.key, value: renameNames(entry.value, renamed))
          })
      case ("host_vars", .map(let entries)):
        setting.options[index].value = .map(
          entries.map { Written.Entry(key: renamed[$0.key] ?? $0.key, value: $0.value) })
      case ("limit", let value):
        setting.options[index].value = renameNames(value, renamed)
      default:
        break
      }
    }
    return setting
  }

  private static func renameNames(_ value: Written, _ renamed: [String: String]) -> Written {
    switch value {
    case .text(let name): return .text(renamed[name] ?? name)
    case .list(let values): return .list(values.map { renameNames($0, renamed) })
    default: return value
    }
  }
}
