// `config.trigger.before`/`after`: the commands, `run` (a host command), `run_remote`
// (a guest command) and `on_error`; `name`, `info` and `warn` become comments above it.

import Support

extension ScopeReader {
  /// The commands a Machinefile trigger may name.
  static let triggerCommands = [
    "up", "halt", "destroy", "reload", "provision", "suspend", "resume", "ssh", "status", "snapshot", "package",
  ]

  mutating func readTriggers(_ node: ConfigNode) {
    for event in node.events {
      guard let when = event.call, when == "before" || when == "after" else {
        drop(event.line, "config.trigger.\(event.set ?? event.call ?? "?")", "Caravan's triggers are before: or after:")
        continue
      }
      readTrigger(when, event)
    }
  }

  private mutating func readTrigger(_ when: String, _ event: ConfigEvent) {
    let what = "trigger \(when) \(event.arguments.map(Convert.plainText).joined(separator: ", "))"
    var options: [(key: String, value: RubyValue, line: Int)] = callOptions(event).map {
      ($0.key, $0.value, event.line)
    }
    for inner in event.block?.events ?? [] {
      if let key = inner.set, let value = inner.value {
        options.append((key, value, inner.line))
      } else {
        options.append((inner.call ?? "?", .null, inner.line))
      }
    }
    guard let commands = triggerCommands(event, what: what) else { return }
    var setting = Setting("trigger", options: [(when, commands)], line: event.line)
    for option in options {
      switch option.key {
      case "run":
        guard let command = hostCommand(option.value, what: what, line: option.line) else { return }
        setting.setOption("run", .script(command))
      case "run_remote":
        guard let inline = option.value["inline"]?.text else {
          return drop(
            option.line, "\(what) run_remote path", "Caravan's run_remote is a command, not a script file to upload")
        }
        setting.setOption("run_remote", .script(inline))
      case "on_error":
        guard let choice = option.value.text, choice == "halt" || choice == "continue" else {
          drop(option.line, "\(what) on_error \(option.value.shown)", "Caravan's on_error is halt or continue")
          continue
        }
        setting.setOption("on_error", .word(choice))
      case "name", "info", "warn":
        setting.comments += option.value.elements.map(Convert.plainText).map { "\(option.key): \($0)" }
      case "type" where option.value.text == "command":
        break
      default:
        return drop(
          option.line, "\(what) \(option.key)", "a trigger setting Caravan does not have; the trigger is left out")
      }
    }
    guard setting.option("run") != nil || setting.option("run_remote") != nil else {
      return drop(event.line, what, "it runs nothing (no run or run_remote)")
    }
    add(setting)
  }

  /// The command names of a trigger: one, several, or `:all`.
  private mutating func triggerCommands(_ event: ConfigEvent, what: String) -> Written? {
    var names: [String] = []
    for name in event.arguments.flatMap(\.elements).map(Convert.plainText) {
      if name == "all" {
        names += ScopeReader.triggerCommands
      } else if ScopeReader.triggerCommands.contains(name) {
        names.append(name)
      } else {
        drop(event.line, "\(what): command \(name)", "not a command Caravan has triggers for")
      }
    }
    guard !names.isEmpty else {
      drop(event.line, what, "none of its commands is one Caravan has")
      return nil
    }
    return names.count == 1 ? .word(names[0]) : .list(names.map(Written.word))
  }

  /// `run: {inline: "…"}` or `run: {path: "script", args: […]}` as a host command line.
  private mutating func hostCommand(_ value: RubyValue, what: String, line: Int) -> String? {
    if let inline = value["inline"]?.text { return inline }
    guard let path = value["path"]?.text else {
      drop(line, "\(what) run", "it needs inline: or path:")
      return nil
    }
    let program = path.hasPrefix("/") || path.hasPrefix("./") || path.hasPrefix("../") ? path : "./" + path
    let args = value["args"].map { $0.text.map(ShellWords.split) ?? $0.elements.map(Convert.plainText) } ?? []
    return ([program] + args).map(shellQuote).joined(separator: " ")
  }
}
