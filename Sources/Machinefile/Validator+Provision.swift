// `provision` (shell, file, ansible, puppet) and `trigger`.

import Spec
import Support

extension Validator {
  static let provisionerTypes = ["shell", "file", "ansible", "puppet"]
  static let provisionerOptions: [String: [String]] = [
    "shell": ["inline", "path", "args", "env", "privileged", "upload_path"],
    "file": ["source", "destination"],
    "ansible": ansibleOptions,
    "puppet": ["manifest", "modules", "facts", "options"],
  ]
  static let commonProvisionerOptions = ["name", "run"]
  /// The options each type takes (with the common ones), and all of them for an unknown type.
  static let allowedProvisionerOptions: [String: [String]] = provisionerOptions.mapValues {
    commonProvisionerOptions + $0
  }
  static let anyProvisionerOptions =
    commonProvisionerOptions + provisionerTypes.flatMap { provisionerOptions[$0] ?? [] }

  func checkProvision(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "provision shell, inline: \"echo hello\""
    var type: String?
    if let value = statement.positional.first {
      type = choice(value, "the type of 'provision'", among: Validator.provisionerTypes)
    }
    let allowed =
      type.flatMap { Validator.allowedProvisionerOptions[$0] } ?? Validator.anyProvisionerOptions
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example, options: allowed,
      needs: "a type (shell, file, ansible or puppet)"
    ) { label in
      guard let type,
        let owner = Validator.provisionerTypes.first(where: {
          Validator.provisionerOptions[$0]?.contains(label) == true
        })
      else { return nil }
      return
        "option '\(label):' is for \(owner) provisioners, not \(type); a \(type) provisioner takes \(allowed.map { "\($0):" }.listed)"
    }
    var name: StringLiteral?
    if let option = args.options["name"], let literal = string(option.value, "'name:' of 'provision'") {
      name = literal
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty ? "'name:' of 'provision' is empty; give the provisioner a name or remove name:" : nil
      }
    }
    var run = RunPolicy.once
    if let option = args.options["run"], let chosen = choice(option.value, "'run:' of 'provision'", as: RunPolicy.self)
    {
      run = chosen
    }
    guard let type else { return }
    let make: ((Expansion) -> ProvisionerSpec.Kind)?
    switch type {
    case "shell": make = checkShell(statement, args.options, scope: scope)
    case "file": make = checkFileProvisioner(statement, args.options, scope: scope)
    case "puppet": make = checkPuppet(args.options, scope: scope)
    default: make = checkAnsible(statement, args.options, scope: scope)
    }
    guard let make else { return }
    let location = statement.location
    settings.provisioners.append(
      CheckedProvisioner(location: location, type: type, explicitName: name) { expansion in
        var provisioner = ProvisionerSpec(name: "", kind: make(expansion), location: location)
        provisioner.run = run
        return provisioner
      })
  }

  private func checkShell(_ statement: Statement, _ options: FoundOptions, scope: Scope)
    -> ((Expansion) -> ProvisionerSpec.Kind)?
  {
    var inline: StringLiteral?
    var path: StringLiteral?
    var args: [StringLiteral] = []
    var env: [(key: String, value: StringLiteral)] = []
    var privileged = true
    var uploadPath: StringLiteral?
    var valid = true
    if let option = options["inline"] {
      inline = string(option.value, "'inline:' of 'provision shell'")
      if let pathOption = options["path"] {
        error(
          "a shell provisioner takes inline: or path:, not both; remove one (inline: is at \(option.labelLocation))",
          atLabelOf: pathOption)
        valid = false
      }
    }
    if let option = options["path"], let literal = string(option.value, "'path:' of 'provision shell'") {
      path = literal
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty ? "'path:' of 'provision shell' is empty; give the script's path on the host" : nil
      }
    }
    if options["inline"] == nil, options["path"] == nil {
      error(
        "a shell provisioner needs inline: (the script) or path: (a script file on the host) \(scope.description), e.g. `provision shell, inline: \"echo hello\"`",
        at: statement)
      valid = false
    }
    if let option = options["args"] {
      args = stringList(option.value, "'args:' of 'provision shell'", example: "args: [\"--quiet\"]") ?? []
    }
    if let option = options["env"] {
      env =
        stringMap(option.value, "'env:' of 'provision shell'", example: "env: {ROLE: \"web\"}") { key in
          isVariableName(key)
            ? nil
            : "environment variable name '\(key)' in 'env:' is not valid; use letters, digits and '_', not starting with a digit"
        } ?? []
    }
    if let option = options["privileged"], let flag = bool(option.value, "'privileged:' of 'provision shell'") {
      privileged = flag
    }
    if let option = options["upload_path"], let literal = string(option.value, "'upload_path:' of 'provision shell'") {
      uploadPath = literal
      checkText(literal, at: option.value, scope: scope) { text in
        text.hasPrefix("/")
          ? nil
          : "'upload_path:' of 'provision shell' must be an absolute guest path like \"/tmp/provision.sh\", got \"\(text)\""
      }
    }
    guard valid, inline != nil || path != nil else { return nil }
    return { expansion in
      // The inline script is verbatim: its `${…}` are the shell's.
      var shell = ShellProvisioner(inline: inline?.scriptText, path: path.map(expansion.expand))
      shell.args = expansion.expand(args)
      shell.env = Dictionary(env.map { ($0.key, expansion.expand($0.value)) }, uniquingKeysWith: { first, _ in first })
      shell.privileged = privileged
      shell.uploadPath = uploadPath.map(expansion.expand)
      return .shell(shell)
    }
  }

  private func checkFileProvisioner(_ statement: Statement, _ options: FoundOptions, scope: Scope)
    -> ((Expansion) -> ProvisionerSpec.Kind)?
  {
    let example = "provision file, source: \"app.conf\", destination: \"/etc/app.conf\""
    func required(_ label: String) -> StringLiteral? {
      guard let option = options[label] else {
        error("a file provisioner needs \(label): \(scope.description), e.g. `\(example)`", at: statement)
        return nil
      }
      guard let literal = string(option.value, "'\(label):' of 'provision file'", example: example) else { return nil }
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty ? "'\(label):' of 'provision file' is empty; give a path" : nil
      }
      return literal
    }
    let source = required("source")
    let destination = required("destination")
    guard let source, let destination else { return nil }
    return { expansion in .file(source: expansion.expand(source), destination: expansion.expand(destination)) }
  }

  private func checkPuppet(_ options: FoundOptions, scope: Scope) -> ((Expansion) -> ProvisionerSpec.Kind)? {
    var manifest: StringLiteral?
    if let option = options["manifest"],
      let literal = string(option.value, "'manifest:' of 'provision puppet'", example: "manifest: \"site.pp\"")
    {
      manifest = literal
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty ? "'manifest:' of 'provision puppet' is empty; give the manifest's path on the host" : nil
      }
    }
    let modules = options["modules"].flatMap {
      string($0.value, "'modules:' of 'provision puppet'", example: "modules: \"modules\"")
    }
    var facts: [(key: String, value: StringLiteral)] = []
    if let option = options["facts"] {
      facts = stringMap(option.value, "'facts:' of 'provision puppet'", example: "facts: {role: \"web\"}") ?? []
    }
    var extra: [StringLiteral] = []
    if let option = options["options"] {
      extra = stringList(option.value, "'options:' of 'provision puppet'", example: "options: [\"--verbose\"]") ?? []
    }
    return { expansion in
      var puppet = PuppetProvisioner()
      if let manifest { puppet.manifest = expansion.expand(manifest) }
      puppet.modules = modules.map(expansion.expand)
      puppet.facts = Dictionary(
        facts.map { ($0.key, expansion.expand($0.value)) }, uniquingKeysWith: { first, _ in first })
      puppet.options = expansion.expand(extra)
      return .puppet(puppet)
    }
  }

  // MARK: Triggers

  /// The commands a trigger can be attached to.
  static let triggerCommands = [
    "up", "halt", "destroy", "reload", "provision", "suspend", "resume", "ssh", "status", "snapshot", "package",
  ]

  func checkTrigger(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "trigger before: up, run: \"./prepare.sh\""
    let args = arguments(
      of: statement, scope: scope, positional: 0, example: example,
      options: ["before", "after", "run", "run_remote", "on_error"])
    var when: TriggerSpec.When?
    var commands: [String]?
    for label in ["before", "after"] {
      guard let option = args.options[label] else { continue }
      if when != nil {
        error("'trigger' takes before: or after:, not both; write two triggers", atLabelOf: option)
        continue
      }
      when = label == "before" ? .before : .after
      commands = triggerCommands(option.value, "'\(label):' of 'trigger'")
    }
    if when == nil {
      error(
        "'trigger' needs before: or after: with a command name \(scope.description), e.g. `\(example)`", at: statement)
    }
    let run = args.options["run"].flatMap { string($0.value, "'run:' of 'trigger'", example: example) }
    let runRemote = args.options["run_remote"].flatMap {
      string($0.value, "'run_remote:' of 'trigger'", example: "run_remote: \"systemctl stop app\"")
    }
    if args.options["run"] == nil, args.options["run_remote"] == nil {
      error(
        "'trigger' needs run: (a command on the host) or run_remote: (a command in the guest), e.g. `\(example)`",
        at: statement)
    }
    var onError = TriggerSpec.OnError.halt
    if let option = args.options["on_error"],
      let chosen = choice(option.value, "'on_error:' of 'trigger'", as: TriggerSpec.OnError.self)
    {
      onError = chosen
    }
    guard let when, let commands, run != nil || runRemote != nil else { return }
    let location = statement.location
    append(statement, to: &settings) { machine, expansion in
      var trigger = TriggerSpec(when: when, commands: commands, location: location)
      // Commands are verbatim: their `${…}` are the shell's.
      trigger.run = run?.scriptText
      trigger.runRemote = runRemote?.scriptText
      trigger.onError = onError
      machine.triggers.append(trigger)
    }
  }

  /// A command name (`up`) or a list of them (`[up, reload]`).
  private func triggerCommands(_ value: Value, _ subject: String) -> [String]? {
    let elements: [Value]
    if case .list(let list) = value.kind {
      guard !list.isEmpty else {
        error("\(subject) is an empty list; name at least one command, e.g. [up, reload]", at: value)
        return nil
      }
      elements = list
    } else {
      elements = [value]
    }
    var commands: [String] = []
    for element in elements {
      guard let command = choice(element, subject, among: Validator.triggerCommands) else { return nil }
      commands.append(command)
    }
    return commands
  }
}
