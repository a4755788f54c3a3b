// The settings inside a Boxfile's `build { … }` block, read one statement at a time into
// the parts of a BuildSpec; `finish` checks what each strategy needs and assembles it.

import Foundation
import Spec
import Support

struct BuildReader {
  let validator: Validator
  let scope: Validator.Scope
  let directory: String
  let boxName: String

  private var strategy: BuildSpec.Strategy?
  private var fromStatement: Statement?
  private var kernel: BuildSpec.Source?
  private var initrd: BuildSpec.Source?
  private var iso: BuildSpec.Source?
  private var suite: String?
  private var mirror: String?
  private var packages: [String] = []
  private var templates: [BuildSpec.Template] = []
  private var httpDirectory: String?
  private var kernelArgs: String?
  private var bootCommand: [String]?
  private var bootWait: Int?
  private var machine = MachineSpec(name: "build")
  private var machineSettings = CheckedScope()
  private var ssh = BuildSpec.SSH()
  private var postinstall: [CheckedProvisioner] = []
  private var output: BuildSpec.Output?
  private var timeout: Int?

  init(validator: Validator, scope: Validator.Scope, directory: String, boxName: String) {
    self.validator = validator
    self.scope = scope
    self.directory = directory
    self.boxName = boxName
  }

  private var expansion: Expansion {
    Expansion(environment: validator.environment, machineName: boxName, machineIndex: 1)
  }

  /// The text of a string or bare name (nil, with the error reported, when it is neither).
  private func text(_ value: Value, _ subject: String, example: String) -> String? {
    guard let literal = validator.stringOrName(value, subject, example: example),
      validator.isExpandable(literal)
    else { return nil }
    return expansion.expand(literal)
  }

  private func path(_ text: String) -> String {
    if text.hasPrefix("http://") || text.hasPrefix("https://") || text.hasPrefix("file://") { return text }
    return FileSystem.resolve(text, relativeTo: directory)
  }

  /// Single-valued settings: reports a repeat (the validator's check, in this block's scope).
  private mutating func once(_ statement: Statement) -> Bool {
    validator.claim(statement.name, statement, scope: scope, in: &machineSettings)
  }

  private func single(_ statement: Statement, example: String, options: [String] = []) -> Validator.CheckedArguments {
    validator.arguments(of: statement, scope: scope, positional: 1, example: example, options: options)
  }

  mutating func read(_ statement: Statement) {
    validator.checkInterpolations(in: statement, scope: scope)
    switch statement.name {
    case "strategy":
      guard once(statement), let value = single(statement, example: "strategy installer").values.first else { return }
      strategy = validator.choice(value, "'strategy'", as: BuildSpec.Strategy.self)
    case "from":
      guard once(statement) else { return }
      readFrom(statement)
    case "template":
      readTemplate(statement)
    case "http_dir":
      guard once(statement), let value = single(statement, example: "http_dir \"http\"").values.first,
        let text = text(value, "'http_dir'", example: "http_dir \"http\"")
      else { return }
      httpDirectory = path(text)
    case "kernel_args":
      let example = "kernel_args \"auto=true priority=critical\""
      guard once(statement), let value = single(statement, example: example).values.first,
        let literal = validator.string(value, "'kernel_args'", example: example), validator.isExpandable(literal)
      else { return }
      kernelArgs = expansion.expand(literal)
    case "boot_command":
      let example = "boot_command [\"<esc><wait>\", \"install<enter>\"]"
      guard once(statement), let value = single(statement, example: example).values.first,
        let list = validator.stringList(value, "'boot_command'", example: example, allowSingle: true)
      else { return }
      if case .list(let elements) = value.kind {
        validator.checkBootCommand(elements, literals: list, expansion: expansion)
      } else {
        validator.checkBootCommand([value], literals: list, expansion: expansion)
      }
      bootCommand = list.map(expansion.expand)
    case "boot_wait":
      guard once(statement), let value = single(statement, example: "boot_wait 10s").values.first,
        let milliseconds = validator.duration(value, "'boot_wait'", example: "boot_wait 10s")
      else { return }
      bootWait = milliseconds
    case "timeout":
      guard once(statement), let written = single(statement, example: "timeout 90m").values.first,
        let value = validator.typed(written),
        let milliseconds = validator.duration(value, "'timeout'", example: "timeout 90m")
      else { return }
      if milliseconds < 1000 {
        validator.error("'timeout' of a build must be at least 1s, got \(value.text)", at: value)
      } else {
        timeout = milliseconds
      }
    case "cpus": validator.checkCPUs(statement, scope: scope, into: &machineSettings)
    case "memory": validator.checkMemory(statement, scope: scope, into: &machineSettings)
    case "disk": validator.checkDisk(statement, scope: scope, into: &machineSettings)
    case "ssh":
      guard once(statement) else { return }
      readSSH(statement)
    case "postinstall":
      readPostinstall(statement)
    case "output":
      guard once(statement) else { return }
      readOutput(statement)
    default:
      validator.error(
        "unknown setting '\(statement.name)' \(scope.description)"
          + Suggestions.didYouMean(statement.name, in: Validator.buildSettings),
        at: statement)
    }
  }

  // MARK: from, template, ssh, postinstall, output

  private mutating func readFrom(_ statement: Statement) {
    fromStatement = statement
    let example = "from kernel: \"linux\", initrd: \"initrd.gz\""
    let args = validator.arguments(
      of: statement, scope: scope, positional: 0, example: example,
      options: ["kernel", "initrd", "iso", "suite", "mirror", "packages", "checksum"])
    func file(_ label: String) -> String? {
      guard let option = args.options[label] else { return nil }
      return text(option.value, "'\(label):' of 'from'", example: example).map(path)
    }
    if let location = file("kernel") { kernel = BuildSpec.Source(location: location) }
    if let location = file("initrd") { initrd = BuildSpec.Source(location: location) }
    if let location = file("iso") { iso = BuildSpec.Source(location: location) }
    if let option = args.options["suite"] {
      suite = text(option.value, "'suite:' of 'from'", example: "from suite: \"bookworm\"")
    }
    if let option = args.options["mirror"] {
      mirror = text(option.value, "'mirror:' of 'from'", example: "from suite: \"bookworm\", mirror: \"…\"")
    }
    if let option = args.options["packages"] {
      packages =
        validator.stringList(option.value, "'packages:' of 'from'", example: "packages: [\"sudo\"]")
        .map { $0.map(expansion.expand) } ?? []
    }
    if let option = args.options["checksum"] { readChecksums(option.value) }
  }

  /// `checksum: "sha256:…"` for the one file of `iso:`, or a map `{kernel: "…", initrd: "…"}`.
  private mutating func readChecksums(_ value: Value) {
    func parse(_ text: String, _ at: Value) -> Checksum? {
      if let problem = ValueChecks.problem({ _ = try Checksum(parsing: text) }) {
        validator.error("'checksum:' of 'from' is not valid: \(problem)", at: at)
        return nil
      }
      return try? Checksum(parsing: text)
    }
    switch value.kind {
    case .map(let entries):
      for entry in entries {
        guard let text = text(entry.value, "checksum of '\(entry.key)'", example: "{kernel: \"sha256:…\"}"),
          let checksum = parse(text, entry.value)
        else { continue }
        switch entry.key {
        case "kernel": kernel?.checksum = checksum
        case "initrd": initrd?.checksum = checksum
        case "iso": iso?.checksum = checksum
        default:
          validator.error(
            "'checksum:' of 'from' names '\(entry.key)', which is not a file of 'from'; use kernel, initrd or iso",
            at: entry.keyLocation, length: entry.keyLength)
        }
      }
    default:
      guard let text = text(value, "'checksum:' of 'from'", example: "checksum: \"sha256:…\""),
        let checksum = parse(text, value)
      else { return }
      if iso != nil {
        iso?.checksum = checksum
      } else {
        validator.error(
          "'checksum:' of 'from' with kernel: and initrd: must say which file it is for: write checksum: {kernel: \"sha256:…\", initrd: \"sha256:…\"}",
          at: value)
      }
    }
  }

  private mutating func readTemplate(_ statement: Statement) {
    let example = "template \"../../templates/preseed/debian-12.cfg\", as: \"preseed.cfg\""
    let args = single(statement, example: example, options: ["as"])
    guard let value = args.values.first, let file = text(value, "'template'", example: example) else { return }
    var name = (file as NSString).lastPathComponent
    if let option = args.options["as"], let chosen = text(option.value, "'as:' of 'template'", example: example) {
      if chosen.isEmpty || chosen.hasPrefix("/") || chosen.split(separator: "/").contains("..") {
        validator.error(
          "'as:' of 'template' must be a relative name like \"preseed.cfg\" (it is the file's name in the initrd and on the HTTP server), got \"\(chosen)\"",
          at: option.value)
        return
      }
      name = chosen
    }
    if let other = templates.first(where: { $0.name == name }) {
      validator.error(
        "two templates are named '\(name)' (the other is \(other.path)); give one of them another `as:` name",
        at: statement)
      return
    }
    templates.append(BuildSpec.Template(path: path(file), name: name))
  }

  private mutating func readSSH(_ statement: Statement) {
    let example = "ssh { user \"vagrant\"; password \"vagrant\" }"
    if statement.block == nil {
      validator.error("'ssh' needs a block \(scope.description), e.g. `\(example)`", at: statement)
      return
    }
    let allowed = ["user", "password", "private_key", "port"]
    var inner: [String: SourceLocation] = [:]
    for setting in statement.block?.statements ?? [] {
      validator.checkInterpolations(in: setting, scope: scope)
      guard allowed.contains(setting.name) else {
        validator.error(
          "unknown setting '\(setting.name)' in 'ssh' block of a build"
            + Suggestions.didYouMean(setting.name, in: allowed),
          at: setting)
        continue
      }
      if let first = inner[setting.name] {
        validator.error(
          "duplicate setting '\(setting.name)' in 'ssh' block; it is already set at \(first)", at: setting)
        continue
      }
      inner[setting.name] = setting.location
      guard let value = single(setting, example: "\(setting.name) …").values.first else { continue }
      switch setting.name {
      case "user": ssh.user = text(value, "'user' of 'ssh'", example: "user \"vagrant\"") ?? ssh.user
      case "password": ssh.password = text(value, "'password' of 'ssh'", example: "password \"vagrant\"")
      case "private_key":
        ssh.privateKey = text(value, "'private_key' of 'ssh'", example: "private_key \"key\"").map(path)
      default:
        ssh.port = validator.integer(value, "'port' of 'ssh'", in: 1...65535, example: "port 22") ?? ssh.port
      }
    }
  }

  private mutating func readPostinstall(_ statement: Statement) {
    if case .name(let type)? = statement.positional.first?.kind, type != "shell", type != "file" {
      validator.error(
        "'postinstall' runs shell or file steps, not \(type); write `postinstall shell, inline: \"…\"`", at: statement)
      return
    }
    var scratch = CheckedScope()
    validator.checkProvision(statement, scope: scope, into: &scratch)
    postinstall += scratch.provisioners
  }

  private mutating func readOutput(_ statement: Statement) {
    let example = "output \"out/debian-12.box\", format: v1, compress: true, catalog: \"out/catalog.json\""
    let args = single(statement, example: example, options: ["format", "compress", "catalog", "url"])
    guard let value = args.values.first, let file = text(value, "'output'", example: example) else { return }
    guard !file.isEmpty, !file.hasSuffix("/") else {
      validator.error("'output' must be the path of the box file to write, like \"out/box.box\"", at: value)
      return
    }
    var result = BuildSpec.Output(path: path(file))
    if let option = args.options["format"],
      let format = validator.choice(option.value, "'format:' of 'output'", as: BuildSpec.Format.self)
    {
      result.format = format
    }
    if let option = args.options["compress"], let flag = validator.bool(option.value, "'compress:' of 'output'") {
      result.compress = flag
    }
    if let option = args.options["catalog"],
      let catalog = text(option.value, "'catalog:' of 'output'", example: "catalog: \"out/catalog.json\"")
    {
      result.catalog = path(catalog)
    }
    if let option = args.options["url"],
      let url = text(option.value, "'url:' of 'output'", example: "url: \"https://boxes.example.com/\"")
    {
      result.url = url
    }
    output = result
  }

  // MARK: The whole build

  func finish(file: String, name: String, version: String, variables: [String: String], at statement: Statement)
    -> BuildSpec?
  {
    func missing(_ what: String, _ example: String) {
      validator.error("build \"\(name)\" needs \(what), e.g. `\(example)`", at: statement)
    }
    guard let strategy else {
      if machineSettings.firstSeen["strategy"] == nil {
        missing("a strategy (installer, iso or rootfs)", "strategy rootfs")
      }
      return nil
    }
    let fromAt = fromStatement ?? statement
    switch strategy {
    case .installer:
      if kernel == nil || initrd == nil {
        missing(
          "`from kernel:` and `initrd:` for the installer strategy", "from kernel: \"linux\", initrd: \"initrd.gz\"")
      }
      if iso != nil || suite != nil {
        validator.error("the installer strategy boots kernel: and initrd:; remove iso:/suite: from 'from'", at: fromAt)
      }
    case .iso:
      if iso == nil { missing("`from iso:` for the iso strategy", "from iso: \"debian.iso\", checksum: \"sha256:…\"") }
      if bootCommand == nil { missing("a boot_command for the iso strategy", "boot_command [\"<esc>install<enter>\"]") }
    case .rootfs:
      if suite == nil { missing("`from suite:` for the rootfs strategy", "from suite: \"bookworm\"") }
      if kernel != nil || iso != nil {
        validator.error("the rootfs strategy builds on the host; remove kernel:/initrd:/iso: from 'from'", at: fromAt)
      }
    }
    if strategy != .installer, kernelArgs != nil {
      validator.error("kernel_args is for the installer strategy, not \(strategy.rawValue)", at: statement)
    }
    if strategy != .iso, bootCommand != nil {
      validator.error("boot_command is for the iso strategy, not \(strategy.rawValue); remove it", at: statement)
    }
    guard let output else {
      missing("an output", "output \"out/box.box\"")
      return nil
    }
    if validator.hasErrors { return nil }
    var machine = self.machine
    for setting in machineSettings.single.values { setting.apply(&machine, expansion) }
    var spec = BuildSpec(
      file: file, directory: directory, name: name, version: version, strategy: strategy, output: output)
    spec.kernel = kernel
    spec.initrd = initrd
    spec.iso = iso
    spec.suite = suite
    spec.mirror = mirror ?? (strategy == .rootfs ? "http://deb.debian.org/debian" : nil)
    spec.packages = packages
    spec.templates = templates
    spec.httpDirectory = httpDirectory
    spec.kernelArgs = kernelArgs ?? ""
    spec.bootCommand = bootCommand ?? []
    spec.bootWaitMilliseconds = bootWait ?? 5000
    if machineSettings.single["cpus"] != nil { spec.cpus = machine.cpus }
    if machineSettings.single["memory"] != nil { spec.memoryBytes = machine.memoryBytes }
    if let disk = machine.diskBytes { spec.diskBytes = disk }
    spec.ssh = ssh
    spec.postinstall = postinstall.enumerated().map { position, checked in
      var step = checked.make(expansion)
      step.name = checked.explicitName.map(expansion.expand) ?? "\(checked.type)-\(position + 1)"
      if case .shell(var shell) = step.kind, let script = shell.path {
        shell.path = FileSystem.resolve(script, relativeTo: directory)
        step.kind = .shell(shell)
      } else if case .file(let source, let destination) = step.kind {
        step.kind = .file(source: FileSystem.resolve(source, relativeTo: directory), destination: destination)
      }
      return step
    }
    spec.timeoutMilliseconds = timeout ?? spec.timeoutMilliseconds
    spec.variables = variables
    return spec
  }
}
