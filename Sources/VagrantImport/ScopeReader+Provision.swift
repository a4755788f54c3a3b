// `config.vm.provision`: shell, file, ansible and puppet with their options (given as
// options of the call or set in its block); other provisioners are left out.

extension ScopeReader {
  /// A provisioner's options: those of the call, then those its block sets (which win).
  struct ProvisionOptions {
    var entries: [(key: String, value: RubyValue, line: Int)] = []

    subscript(key: String) -> RubyValue? { entries.last { $0.key == key }?.value }
  }

  mutating func readProvision(_ event: ConfigEvent) {
    let first = event.arguments.first?.text ?? "?"
    let type = event.option("type")?.text ?? first
    let name = event.option("type") == nil ? nil : first
    guard ["shell", "file", "ansible", "puppet"].contains(type) else {
      let why =
        type == "ansible_local"
        ? "it runs Ansible inside the guest; Caravan's ansible runs on the host"
        : "Caravan provisions with shell, file, ansible and puppet"
      return drop(event.line, "provisioner \(type)", why)
    }
    var options = ProvisionOptions()
    for entry in callOptions(event) where entry.key != "type" {
      options.entries.append((entry.key, entry.value, event.line))
    }
    for inner in event.block?.events ?? [] {
      if let key = inner.set, let value = inner.value {
        options.entries.append((key, value, inner.line))
      } else {
        drop(
          inner.line, "provisioner \(type) call \(inner.call ?? "?")", "not an option Caravan's \(type) provisioner has"
        )
      }
    }
    var setting = Setting("provision", [.word(type)], line: event.line)
    if let name = options["name"]?.text ?? name { setting.setOption("name", .text(name)) }
    if let run = options["run"]?.text {
      if ["once", "always", "never"].contains(run) {
        setting.setOption("run", .word(run))
      } else {
        drop(event.line, "provisioner \(type) run: \(run)", "Caravan runs provisioners once, always or never")
      }
    }
    let read: Bool
    switch type {
    case "shell": read = readShell(options, into: &setting)
    case "file": read = readFile(options, into: &setting)
    case "ansible": read = readAnsible(options, into: &setting)
    default: read = readPuppet(options, into: &setting)
    }
    if read { add(setting) }
  }

  private mutating func unknownOption(_ type: String, _ entry: (key: String, value: RubyValue, line: Int)) {
    drop(entry.line, "provisioner \(type) option \(entry.key)", "not an option Caravan's \(type) provisioner has")
  }

  private mutating func readShell(_ options: ProvisionOptions, into setting: inout Setting) -> Bool {
    for entry in options.entries {
      switch entry.key {
      case "inline":
        let body = entry.value.elements.compactMap(\.text).joined(separator: "\n")
        setting.setOption("inline", .script(body))
      case "path":
        guard let path = entry.value.text else { continue }
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
          drop(entry.line, "provisioner shell path \(path)", "Caravan runs scripts from host files, not URLs")
          return false
        }
        setting.setOption("path", .text(path))
      case "args":
        let words = entry.value.text.map(ShellWords.split) ?? entry.value.elements.map(Convert.plainText)
        setting.setOption("args", .list(words.map(Written.text)))
      case "env":
        let pairs = (entry.value.entries ?? []).map {
          Written.Entry(key: $0.key, value: .text(Convert.plainText($0.value)))
        }
        setting.setOption("env", .map(pairs))
      case "privileged":
        if let flag = entry.value.bool { setting.setOption("privileged", .bool(flag)) }
      case "upload_path":
        if let path = entry.value.text { setting.setOption("upload_path", .text(path)) }
      case "name", "run", "keep_color", "sensitive":
        break
      default:
        unknownOption("shell", entry)
      }
    }
    guard setting.option("inline") != nil || setting.option("path") != nil else {
      drop(setting.line, "provisioner shell", "it has neither inline: nor path:")
      return false
    }
    return true
  }

  private mutating func readFile(_ options: ProvisionOptions, into setting: inout Setting) -> Bool {
    for entry in options.entries {
      switch entry.key {
      case "source", "destination":
        if let path = entry.value.text { setting.setOption(entry.key, .text(path)) }
      case "name", "run":
        break
      default:
        unknownOption("file", entry)
      }
    }
    guard setting.option("source") != nil, setting.option("destination") != nil else {
      drop(setting.line, "provisioner file", "it needs source: and destination:")
      return false
    }
    return true
  }

  private mutating func readPuppet(_ options: ProvisionOptions, into setting: inout Setting) -> Bool {
    var folder: String?
    var file: String?
    for entry in options.entries {
      switch entry.key {
      case "manifests_path":
        // A path, or [:host, PATH] / [:vm, PATH].
        let parts = entry.value.elements.compactMap(\.text)
        if parts.first == "vm" {
          drop(
            entry.line, "provisioner puppet manifests_path in the guest", "Caravan uploads the manifest from the host")
        }
        folder = parts.last
      case "manifest_file":
        file = entry.value.text
      case "module_path":
        let paths = entry.value.elements.compactMap(\.text)
        if let first = paths.first { setting.setOption("modules", .text(first)) }
        for other in paths.dropFirst() {
          drop(
            entry.line, "provisioner puppet module_path \"\(other)\"",
            "Caravan takes one modules folder; the first one is written")
        }
      case "facter":
        let facts = (entry.value.entries ?? []).map {
          Written.Entry(key: $0.key, value: .text(Convert.plainText($0.value)))
        }
        setting.setOption("facts", .map(facts))
      case "options":
        let words = entry.value.text.map(ShellWords.split) ?? entry.value.elements.map(Convert.plainText)
        setting.setOption("options", .list(words.map(Written.text)))
      case "name", "run":
        break
      default:
        unknownOption("puppet", entry)
      }
    }
    if folder != nil || file != nil {
      let manifest = (folder ?? "manifests") + "/" + (file ?? "default.pp")
      setting.setOption("manifest", .text(manifest))
    }
    return true
  }
}
