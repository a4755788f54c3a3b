// `config.vm.provision "ansible"`: the options of Vagrant's ansible provisioner that
// Caravan's has, with variables of any type.

extension ScopeReader {
  mutating func readAnsible(_ options: ProvisionOptions, into setting: inout Setting) -> Bool {
    for entry in options.entries {
      switch entry.key {
      case "playbook", "inventory_path":
        if let path = entry.value.text {
          setting.setOption(entry.key == "playbook" ? "playbook" : "inventory", .text(path))
        }
      case "extra_vars":
        if let file = entry.value.text {
          setting.setOption("extra_vars", .text(file.hasPrefix("@") ? file : "@" + file))
        } else {
          setting.setOption(
            "extra_vars", .map(variables(entry.value, "provisioner ansible extra_vars", line: entry.line)))
        }
      case "limit", "tags", "skip_tags":
        let patterns = entry.value.elements.map(Convert.plainText)
        let written: Written =
          patterns.count == 1 && entry.key == "limit" ? .text(patterns[0]) : .list(patterns.map(Written.text))
        setting.setOption(entry.key, written)
      case "groups":
        setting.setOption("groups", .map(groups(entry.value, line: entry.line)))
      case "host_vars":
        var machines: [Written.Entry] = []
        for machine in entry.value.entries ?? [] {
          let vars = variables(machine.value, "provisioner ansible host_vars \(machine.key)", line: entry.line)
          machines.append(Written.Entry(key: machine.key, value: .map(vars)))
        }
        setting.setOption("host_vars", .map(machines))
      case "become", "sudo":
        if let flag = entry.value.bool { setting.setOption("become", .bool(flag)) }
      case "raw_arguments":
        let words = entry.value.text.map(ShellWords.split) ?? entry.value.elements.map(Convert.plainText)
        setting.setOption("raw_arguments", .list(words.map(Written.text)))
      case "verbose":
        readVerbose(entry.value, line: entry.line, into: &setting)
      case "name", "run", "compatibility_mode":
        break
      default:
        drop(entry.line, "provisioner ansible option \(entry.key)", "not an option Caravan's ansible provisioner has")
      }
    }
    guard setting.option("playbook") != nil else {
      drop(setting.line, "provisioner ansible", "it has no playbook")
      return false
    }
    return true
  }

  private mutating func readVerbose(_ value: RubyValue, line: Int, into setting: inout Setting) {
    if let flag = value.bool {
      setting.setOption("verbose", .bool(flag))
    } else if let text = value.text {
      let letters = text.hasPrefix("-") ? String(text.dropFirst()) : text
      if (1...4).contains(letters.count), letters.allSatisfy({ $0 == "v" }) {
        setting.setOption("verbose", .text(letters))
      } else if !letters.isEmpty {
        drop(line, "provisioner ansible verbose \(value.shown)", "Caravan takes true or \"v\" to \"vvvv\"")
      }
    }
  }

  /// Ansible variables: each value kept with its type; those the Machinefile cannot hold
  /// (nil, an object, a map inside a list) are left out and reported.
  mutating func variables(_ value: RubyValue, _ what: String, line: Int) -> [Written.Entry] {
    var out: [Written.Entry] = []
    for entry in value.entries ?? [] {
      if let data = Convert.data(entry.value) {
        out.append(Written.Entry(key: entry.key, value: data))
      } else {
        drop(line, "\(what) \(entry.key)", "a value the Machinefile cannot hold: \(entry.value.shown)")
      }
    }
    return out
  }

  /// `groups`: `GROUP => [machines]`, `"GROUP:children" => [groups]`, `"GROUP:vars" => {…}`.
  private mutating func groups(_ value: RubyValue, line: Int) -> [Written.Entry] {
    var out: [Written.Entry] = []
    for entry in value.entries ?? [] {
      if entry.key.hasSuffix(":vars") {
        let vars = variables(entry.value, "provisioner ansible groups \(entry.key)", line: line)
        out.append(Written.Entry(key: entry.key, value: .map(vars)))
      } else {
        out.append(
          Written.Entry(key: entry.key, value: .list(entry.value.elements.map { .text(Convert.plainText($0)) })))
      }
    }
    return out
  }
}

/// Ruby values as Machinefile values.
enum Convert {
  /// A value of any type Ansible takes (a float as its text); nil for what the Machinefile
  /// cannot hold: nil, an object, a map inside a list (a list holds no maps).
  static func data(_ value: RubyValue, inList: Bool = false) -> Written? {
    switch value {
    case .null, .object: return nil
    case .bool(let flag): return .bool(flag)
    case .integer(let number): return .integer(number)
    case .double(let number): return .text("\(number)")
    case .string(let text): return .text(text)
    case .list(let values):
      let converted = values.compactMap { data($0, inList: true) }
      return converted.count == values.count ? .list(converted) : nil
    case .hash(let entries):
      guard !inList else { return nil }
      let converted = entries.compactMap { entry in data(entry.value).map { Written.Entry(key: entry.key, value: $0) } }
      return converted.count == entries.count ? .map(converted) : nil
    }
  }

  /// A value as Ruby's `to_s` gives it (what Vagrant passes on as a string).
  static func plainText(_ value: RubyValue) -> String {
    switch value {
    case .null: return ""
    case .string(let text): return text
    case .bool(let flag): return "\(flag)"
    case .integer(let number): return "\(number)"
    case .double(let number): return "\(number)"
    default: return value.shown
    }
  }
}

/// Splits a command-line string into words as a POSIX shell would (quotes and
/// backslashes; no expansions), for Vagrant's string `args`.
enum ShellWords {
  static func split(_ text: String) -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in text {
      if escaped {
        current.append(character)
        escaped = false
      } else if let open = quote {
        if character == open {
          quote = nil
        } else if character == "\\" && open == "\"" {
          escaped = true
        } else {
          current.append(character)
        }
      } else if character == "\\" {
        escaped = true
        inWord = true
      } else if character == "\"" || character == "'" {
        quote = character
        inWord = true
      } else if character.isWhitespace {
        if inWord { words.append(current) }
        current = ""
        inWord = false
      } else {
        current.append(character)
        inWord = true
      }
    }
    if inWord { words.append(current) }
    return words
  }
}
