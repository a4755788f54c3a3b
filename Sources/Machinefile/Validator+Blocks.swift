// The `ssh { … }` and `libvirt { … }` blocks. Each inner setting is single-valued on its
// own (`ssh.user`, `libvirt.firmware`), so a machine can override one and inherit the rest.

import Spec
import Support

extension Validator {
  /// The scope of a block's statements, or nil if the statement has no block.
  private func blockScope(_ statement: Statement, scope: Scope, example: String) -> Scope? {
    if let first = statement.arguments.first {
      error(
        "'\(statement.name)' takes no values or options, only a block, e.g. `\(example)`",
        at: first.labelLocation, length: first.label == nil ? first.value.length : first.labelLength + 1)
    }
    guard statement.block != nil else {
      error("'\(statement.name)' needs a block \(scope.description), e.g. `\(example)`", at: statement)
      return nil
    }
    let description =
      scope.inMachine
      ? "in '\(statement.name)' block of \(scope.description.dropFirst("in ".count))"
      : "in '\(statement.name)' block at top level"
    return Scope(inMachine: scope.inMachine, description: description, copies: scope.copies)
  }

  /// Checks each statement of an `ssh`/`libvirt` block: known name, one value,
  /// not repeated in its scope; then hands the value to `check`.
  private func forEachSetting(
    of statement: Statement, scope: Scope, allowed: [String], examples: [String: String], blockExample: String,
    into settings: inout CheckedScope,
    _ check: (
      _ setting: Statement, _ value: Value, _ key: String, _ subject: String, _ example: String,
      _ settings: inout CheckedScope
    ) -> Void
  ) {
    guard let inner = blockScope(statement, scope: scope, example: blockExample) else { return }
    for setting in statement.block?.statements ?? [] {
      checkInterpolations(in: setting, scope: scope)
      let key = "\(statement.name).\(setting.name)"
      guard allowed.contains(setting.name) else {
        error(
          "unknown setting '\(setting.name)' \(inner.description)" + Suggestions.didYouMean(setting.name, in: allowed),
          at: setting)
        continue
      }
      let example = examples[setting.name] ?? ""
      guard let value = singleValue(setting, key: key, scope: inner, into: &settings, example: example) else {
        continue
      }
      check(setting, value, key, "'\(setting.name)' of '\(statement.name)'", example, &settings)
    }
  }

  static let sshSettings = ["user", "port", "private_key", "insert_key", "forward_agent", "extra_args"]
  static let libvirtSettings = [
    "uri", "accel", "machine_type", "cpu_mode", "nested", "firmware", "secure_boot", "tpm", "graphics", "pool",
    "warm",
  ]
  static let sshExamples = [
    "user": "user \"vagrant\"", "port": "port 22", "private_key": "private_key \"~/.ssh/id_ed25519\"",
    "insert_key": "insert_key false", "forward_agent": "forward_agent true",
    "extra_args": "extra_args [\"-o\", \"LogLevel=ERROR\"]",
  ]
  static let libvirtExamples = [
    "uri": "uri \"qemu:///system\"", "accel": "accel tcg", "machine_type": "machine_type \"q35\"",
    "cpu_mode": "cpu_mode \"host-passthrough\"", "firmware": "firmware uefi", "graphics": "graphics vnc",
    "pool": "pool \"default\"", "warm": "warm true", "nested": "nested true", "secure_boot": "secure_boot true",
    "tpm": "tpm true",
  ]

  func checkSSH(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    forEachSetting(
      of: statement, scope: scope, allowed: Validator.sshSettings, examples: Validator.sshExamples,
      blockExample: "ssh { user \"vagrant\" }", into: &settings
    ) { setting, value, key, subject, example, settings in
      switch setting.name {
      case "user":
        guard let user = stringOrName(value, subject, example: example) else { return }
        checkText(user, at: value, scope: scope) { text in
          text.isEmpty || text.contains(where: \.isWhitespace)
            ? "\(subject) must be a user name without spaces, got \"\(text)\"" : nil
        }
        settings.sshUser = expandedOnce(user)
        store(key, setting, in: &settings) { machine, expansion in machine.ssh.user = expansion.expand(user) }
      case "port":
        guard let port = integer(value, subject, in: 1...65535, example: example) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.ssh.port = port }
      case "private_key":
        guard let path = string(value, subject, example: example) else { return }
        checkText(path, at: value, scope: scope) { $0.isEmpty ? "\(subject) is empty; give the key file's path" : nil }
        store(key, setting, in: &settings) { machine, expansion in machine.ssh.privateKey = expansion.expand(path) }
      case "insert_key":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.ssh.insertKey = flag }
      case "forward_agent":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.ssh.forwardAgent = flag }
      default:
        guard let list = stringList(value, subject, example: example) else { return }
        store(key, setting, in: &settings) { machine, expansion in machine.ssh.extraArgs = expansion.expand(list) }
      }
    }
  }

  func checkLibvirt(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    forEachSetting(
      of: statement, scope: scope, allowed: Validator.libvirtSettings, examples: Validator.libvirtExamples,
      blockExample: "libvirt { accel tcg }", into: &settings
    ) { setting, value, key, subject, example, settings in
      switch setting.name {
      case "uri":
        // A machine's own `uri` puts it on another libvirt host than the project's others.
        guard let uri = string(value, subject, example: example) else { return }
        checkText(uri, at: value, scope: scope) { text in
          ValueChecks.libvirtURI(text)
            ? nil : "\(subject) must be a libvirt connection URI like \"qemu:///system\", got \"\(text)\""
        }
        store(key, setting, in: &settings) { machine, expansion in machine.libvirt.uri = expansion.expand(uri) }
      case "accel":
        guard let accel = choice(value, subject, as: LibvirtSettings.Accel.self) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.accel = accel }
      case "firmware":
        guard let firmware = choice(value, subject, as: LibvirtSettings.Firmware.self) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.firmware = firmware }
      case "graphics":
        guard let graphics = choice(value, subject, as: LibvirtSettings.Graphics.self) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.graphics = graphics }
      case "warm":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.warm = flag }
      case "nested":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.nested = flag }
      case "secure_boot":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.secureBoot = flag }
      case "tpm":
        guard let flag = bool(value, subject) else { return }
        store(key, setting, in: &settings) { machine, _ in machine.libvirt.tpm = flag }
      default:
        guard let text = stringOrName(value, subject, example: example) else { return }
        checkText(text, at: value, scope: scope) { $0.isEmpty ? "\(subject) is empty" : nil }
        let assign: (inout LibvirtSettings, String) -> Void
        switch setting.name {
        case "machine_type": assign = { $0.machineType = $1 }
        case "cpu_mode": assign = { $0.cpuMode = $1 }
        default: assign = { $0.pool = $1 }
        }
        store(key, setting, in: &settings) { machine, expansion in assign(&machine.libvirt, expansion.expand(text)) }
      }
    }
  }
}
