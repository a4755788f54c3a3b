// Where each setting goes and how the file reads: the variables, the top-level settings
// (those every machine block has alike, when there are several blocks), then the machine
// blocks; each kind of setting in a fixed order, the `ssh` and `libvirt` settings in their blocks.

/// The Machinefile as statements, before it is text.
struct MachinefileLayout {
  var variables: [Setting] = []
  var topLevel: [Setting] = []
  var groups: [MachineGroup] = []

  static let order = [
    "box", "cpus", "memory", "disk", "volume", "hostname", "boot_timeout", "graceful_halt_timeout", "forward",
    "network", "sync", "ssh", "libvirt", "provision", "trigger",
  ]

  static func rank(_ setting: Setting) -> Int {
    let kind = setting.name.split(separator: ".").first.map(String.init) ?? setting.name
    return order.firstIndex(of: kind) ?? order.count
  }

  static func sorted(_ settings: [Setting]) -> [Setting] {
    settings.enumerated().sorted { (rank($0.1), $0.0) < (rank($1.1), $1.0) }.map(\.1)
  }

  /// With several blocks, the settings all of them have alike (and that use no
  /// `${index}`, and are no private address, which `count:` would count up) go to the top level.
  mutating func hoistCommonSettings() {
    guard groups.count > 1 else { return }
    let first = groups[0].settings
    var hoisted: [Setting] = []
    for setting in first where setting.isSingleValued && !setting.usesIndex {
      if groups.allSatisfy({ $0.settings.contains(setting) }) { hoisted.append(setting) }
    }
    for kind in ["forward", "network", "sync", "volume", "provision", "trigger"] {
      let lists = groups.map { $0.settings.filter { $0.name == kind } }
      for (position, setting) in lists[0].enumerated() {
        let common = lists.allSatisfy { $0.count > position && $0[position] == setting }
        guard common, !setting.usesIndex, !(kind == "network" && setting.option("ip") != nil) else { break }
        hoisted.append(setting)
      }
    }
    for index in groups.indices {
      var remaining = groups[index].settings
      for setting in hoisted {
        if let found = remaining.firstIndex(of: setting) { remaining.remove(at: found) }
      }
      groups[index].settings = remaining
    }
    topLevel = hoisted
  }

  /// The file's text, after `header` (comment lines).
  func rendered(header: [String]) -> String {
    var text = header.map { $0.isEmpty ? "#\n" : "# \($0)\n" }.joined() + "version 1\n"
    if !variables.isEmpty {
      text += "\n" + variables.map { Render.statement($0, indent: "") }.joined()
    }
    if !topLevel.isEmpty { text += "\n" + MachinefileLayout.statements(topLevel, indent: "") }
    for group in groups {
      text += "\n" + MachinefileLayout.head(of: group)
      if group.settings.isEmpty {
        text += "\n"
      } else {
        text += " {\n" + MachinefileLayout.statements(group.settings, indent: "  ") + "}\n"
      }
    }
    return text
  }

  static func head(of group: MachineGroup) -> String {
    var head = "machine " + Render.quoted(group.name)
    if group.primary { head += ", primary: true" }
    if !group.autostart { head += ", autostart: false" }
    if let count = group.count {
      head += ", count: " + Render.value(group.countValue ?? .integer(count.count), indent: "")
      if count.first != 1 { head += ", first: \(count.first)" }
    }
    return head
  }

  /// Statements in order, the `ssh.*` and `libvirt.*` ones in their block.
  static func statements(_ settings: [Setting], indent: String) -> String {
    var text = ""
    var blocksWritten: Set<String> = []
    for setting in sorted(settings) {
      let parts = setting.name.split(separator: ".", maxSplits: 1).map(String.init)
      guard parts.count == 2 else {
        text += Render.statement(setting, indent: indent)
        continue
      }
      guard !blocksWritten.contains(parts[0]) else { continue }
      blocksWritten.insert(parts[0])
      let inner = settings.filter { $0.name.hasPrefix(parts[0] + ".") }
      text += indent + parts[0] + " {\n" + inner.map { Render.statement($0, indent: indent + "  ") }.joined()
      text += indent + "}\n"
    }
    return text
  }
}

extension Setting {
  /// Whether a value reads `${index}` (it cannot go to the top level).
  var usesIndex: Bool {
    (values + options.map(\.value)).contains { $0.usesIndex }
  }
}

extension Written {
  var usesIndex: Bool {
    switch self {
    case .template(let text): return text.contains("${index}")
    case .list(let values): return values.contains { $0.usesIndex }
    case .map(let entries): return entries.contains { $0.value.usesIndex }
    case .pair(let left, let right): return left.usesIndex || right.usesIndex
    default: return false
    }
  }
}
