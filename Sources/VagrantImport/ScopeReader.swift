// Reads one configuration scope, the top-level `config` or a `define` block's machine, into
// Machinefile settings, and reports what has no Machinefile form. The kinds of settings
// are read in the extensions: networks and folders, provisioners, the libvirt provider,
// triggers.

/// The settings of one scope, in the order the Vagrantfile gave them.
struct ScopeReader {
  var settings: [Setting] = []
  var report = ImportReport()
  /// The `define` calls of the top level, in order.
  var defines: [ConfigEvent] = []
  /// Whether this is the top-level `config` (a `define` elsewhere is left out).
  let topLevel: Bool
  /// `storage :file` disks so far, for their default names.
  var volumeCount = 0

  init(topLevel: Bool) {
    self.topLevel = topLevel
  }

  mutating func drop(_ line: Int, _ what: String, _ why: String) { report.drop(line, what, why) }

  mutating func add(_ setting: Setting) {
    if setting.isSingleValued, let index = settings.firstIndex(where: { $0.name == setting.name }) {
      settings[index] = setting
    } else {
      settings.append(setting)
    }
  }

  mutating func read(_ node: ConfigNode) {
    for event in node.events {
      drop(event.line, "config.\(event.set ?? event.call ?? "?")", "not a Vagrant setting Caravan knows")
    }
    for (name, child) in node.children.sorted(by: { $0.key < $1.key }) {
      switch name {
      case "vm": readVM(child)
      case "ssh": readSSH(child)
      case "trigger": readTriggers(child)
      case "vagrant": readVagrant(child)
      default:
        for (setting, line) in child.assignments(prefix: "config.\(name).") {
          drop(line, setting, KnownPlugins.why(namespace: name))
        }
      }
    }
  }

  /// `config.vagrant.plugins` (the plugins a project needs) and the rest of `config.vagrant`.
  private mutating func readVagrant(_ node: ConfigNode) {
    for (setting, line) in node.assignments(prefix: "config.vagrant.") {
      let why =
        setting == "config.vagrant.plugins"
        ? "the Vagrant plugins this project needs; Caravan has no plugins" : "a setting of Vagrant itself"
      drop(line, setting, why)
    }
  }

  private mutating func readVM(_ node: ConfigNode) {
    var box: (name: String, line: Int)?
    var boxOptions: [(String, Written)] = []
    for event in node.events {
      if let name = event.set, let value = event.value {
        switch name {
        case "box":
          if let text = value.text {
            box = (text, event.line)
          } else {
            dropValue(event, "config.vm.box", "the box name must be a string")
          }
        case "box_version":
          if let text = value.text {
            boxOptions.append(("version", .text(text)))
          } else {
            dropValue(event, "config.vm.box_version", "a version constraint must be a string")
          }
        case "box_url":
          readBoxURL(value, line: event.line, into: &boxOptions)
        default:
          readVMSetting(name, value, line: event.line)
        }
      } else if let call = event.call {
        readVMCall(call, event)
      }
    }
    for (setting, line) in node.children.sorted(by: { $0.key < $1.key }).flatMap({
      $0.value.assignments(prefix: "config.vm.\($0.key).")
    }) {
      drop(line, setting, "not a Vagrant setting Caravan knows")
    }
    if let box {
      add(Setting("box", [.text(box.name)], options: boxOptions, line: box.line))
    } else if let first = boxOptions.first {
      drop(node.events.first?.line ?? 0, "config.vm.box_\(first.0)", "there is no config.vm.box here for it to go with")
    }
  }

  private mutating func dropValue(_ event: ConfigEvent, _ what: String, _ why: String) {
    drop(event.line, "\(what) = \(event.value?.shown ?? "nil")", why)
  }

  private mutating func readBoxURL(_ value: RubyValue, line: Int, into options: inout [(String, Written)]) {
    let urls = value.elements.compactMap(\.text)
    guard let first = urls.first else { return drop(line, "config.vm.box_url", "the URL must be a string") }
    options.append(("url", .text(first)))
    for other in urls.dropFirst() {
      drop(line, "config.vm.box_url \"\(other)\"", "Caravan takes one URL per box; the first one is written")
    }
  }

  private mutating func readVMSetting(_ name: String, _ value: RubyValue, line: Int) {
    switch name {
    case "hostname":
      guard let text = value.text else { return drop(line, "config.vm.hostname", "the hostname must be a string") }
      add(Setting("hostname", [.text(text)], line: line))
    case "boot_timeout", "graceful_halt_timeout":
      guard let seconds = value.integer else {
        return drop(line, "config.vm.\(name)", "it must be a number of seconds")
      }
      add(Setting(name, [.unit("\(seconds)s")], line: line))
    case "box_check_update":
      report.note(
        line, "config.vm.box_check_update", "Caravan never looks for box updates on up (`caravan box outdated` does)")
    case "communicator" where value.text == "ssh":
      break
    default:
      drop(line, "config.vm.\(name)", "not a Vagrant setting Caravan knows")
    }
  }

  private mutating func readVMCall(_ call: String, _ event: ConfigEvent) {
    switch call {
    case "define":
      if topLevel {
        defines.append(event)
      } else {
        drop(event.line, "config.vm.define inside a machine", "machines are defined at the top level only")
      }
    case "network": readNetwork(event)
    case "synced_folder": readSyncedFolder(event)
    case "provision": readProvision(event)
    case "provider": readProvider(event)
    default: drop(event.line, "config.vm.\(call)", "not a Vagrant setting Caravan knows")
    }
  }

  private mutating func readSSH(_ node: ConfigNode) {
    for event in node.events {
      guard let name = event.set, let value = event.value else {
        drop(event.line, "config.ssh.\(event.call ?? "?")", "not a Vagrant setting Caravan knows")
        continue
      }
      switch name {
      case "username":
        if let user = value.text { add(Setting("ssh.user", [.text(user)], line: event.line)) }
      case "guest_port":
        if let port = value.integer { add(Setting("ssh.port", [.integer(port)], line: event.line)) }
      case "private_key_path":
        let paths = value.elements.compactMap(\.text)
        if let first = paths.first { add(Setting("ssh.private_key", [.text(first)], line: event.line)) }
        for other in paths.dropFirst() {
          drop(
            event.line, "config.ssh.private_key_path \"\(other)\"", "Caravan takes one key; the first one is written")
        }
      case "insert_key", "forward_agent":
        if let flag = value.bool { add(Setting("ssh.\(name)", [.bool(flag)], line: event.line)) }
      case "extra_args":
        add(Setting("ssh.extra_args", [.list(value.elements.compactMap(\.text).map(Written.text))], line: event.line))
      case "port":
        drop(event.line, "config.ssh.port", "the host port of SSH; Caravan chooses it and forwards it itself")
      default:
        drop(event.line, "config.ssh.\(name)", "not an SSH setting Caravan has")
      }
    }
  }
}
