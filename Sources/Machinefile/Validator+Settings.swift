// Settings that size and name a machine: box, cpus, memory, disk, hostname, boot_timeout.

import Spec
import Support

extension Validator {
  /// The one value of a single-valued setting, after the duplicate and shape checks.
  func singleValue(
    _ statement: Statement, key: String? = nil, scope: Scope, into settings: inout CheckedScope, example: String
  ) -> Value? {
    guard claim(key ?? statement.name, statement, scope: scope, in: &settings) else { return nil }
    return arguments(of: statement, scope: scope, positional: 1, example: example).values.first
  }

  func store(
    _ key: String, _ statement: Statement, in settings: inout CheckedScope,
    _ apply: @escaping (inout MachineSpec, Expansion) -> Void
  ) {
    settings.single[key] = CheckedSetting(name: key, location: statement.location, apply: apply)
  }

  func checkBox(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "box \"caravan/debian-12\", version: \"~> 12.0\""
    guard claim("box", statement, scope: scope, in: &settings) else { return }
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example,
      options: ["version", "url", "checksum", "checksum_url"],
      needs: "a box name")
    var version: StringLiteral?
    var url: StringLiteral?
    var checksum: StringLiteral?
    var checksumURL: StringLiteral?
    if let option = args.options["version"],
      let literal = string(option.value, "'version:' of 'box'", example: "version: \"~> 12.0\"")
    {
      version = literal
      checkText(literal, at: option.value, scope: scope) { text in
        ValueChecks.problem { _ = try VersionConstraint(parsing: text) }
      }
    }
    if let option = args.options["url"], let literal = string(option.value, "'url:' of 'box'") {
      url = literal
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty ? "'url:' of 'box' is empty; give the box's URL or remove url:" : nil
      }
    }
    if let option = args.options["checksum"],
      let literal = string(option.value, "'checksum:' of 'box'", example: "checksum: \"sha256:…\"")
    {
      checksum = literal
      checkText(literal, at: option.value, scope: scope) { text in
        ValueChecks.problem { _ = try Checksum(parsing: text) }
      }
    }
    if let option = args.options["checksum_url"],
      let literal = string(option.value, "'checksum_url:' of 'box'", example: "checksum_url: \"…/SHA256SUMS\"")
    {
      if let other = args.options["checksum"] {
        error(
          "'box' takes 'checksum:' (at \(other.labelLocation.line):\(other.labelLocation.column)) or 'checksum_url:', not both; keep either the checksum \"TYPE:HEX\" or the URL of the image's SHA256SUMS/SHA512SUMS file",
          atLabelOf: option)
      } else {
        checksumURL = literal
      }
      checkText(literal, at: option.value, scope: scope) {
        $0.isEmpty
          ? "'checksum_url:' of 'box' is empty; give the URL of a SHA256SUMS/SHA512SUMS file or remove it" : nil
      }
    }
    guard let value = args.values.first, let name = string(value, "'box'", example: example) else { return }
    checkText(name, at: value, scope: scope) { text in
      if text.isEmpty {
        return "the box name is empty; write the name as in `caravan box list`, e.g. \"caravan/debian-12\""
      }
      if text.contains(where: \.isWhitespace) {
        return "box name \"\(text)\" contains a space; box names are like \"caravan/debian-12\""
      }
      return nil
    }
    store("box", statement, in: &settings) { machine, expansion in
      // The validator has checked these texts with the same parsers.
      machine.box = BoxRequirement(
        name: expansion.expand(name),
        version: version.flatMap { try? VersionConstraint(parsing: expansion.expand($0)) },
        url: url.map(expansion.expand),
        checksum: checksum.flatMap { try? Checksum(parsing: expansion.expand($0)) },
        checksumURL: checksumURL.map(expansion.expand))
    }
  }

  func checkCPUs(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard let value = singleValue(statement, scope: scope, into: &settings, example: "cpus 2"),
      let cpus = integer(value, "'cpus'", in: 1...1024, example: "cpus 2")
    else { return }
    store("cpus", statement, in: &settings) { machine, _ in machine.cpus = cpus }
  }

  func checkMemory(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard let written = singleValue(statement, scope: scope, into: &settings, example: "memory 2GiB"),
      let value = typed(written)
    else { return }
    let bytes: UInt64
    let shown: String
    switch value.kind {
    case .size(let size):
      bytes = size
      shown = value.text
    case .integer(let mebibytes):
      guard mebibytes >= 0, UInt64(mebibytes) <= UInt64.max >> 20 else {
        error("'memory' must be at least 64MiB, got \(mebibytes) (MiB)", at: value)
        return
      }
      bytes = UInt64(mebibytes) << 20
      shown = "\(mebibytes) (MiB)"
    default:
      _ = size(value, "'memory'", example: "memory 2GiB")
      return
    }
    guard bytes >= 64 << 20 else {
      error("'memory' must be at least 64MiB, got \(shown)", at: value)
      return
    }
    store("memory", statement, in: &settings) { machine, _ in machine.memoryBytes = bytes }
  }

  func checkDisk(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard let written = singleValue(statement, scope: scope, into: &settings, example: "disk 20GiB"),
      let value = typed(written), let bytes = size(value, "'disk'", example: "disk 20GiB")
    else { return }
    guard bytes >= 1 << 20 else {
      error("'disk' must be at least 1MiB, got \(value.text)", at: value)
      return
    }
    store("disk", statement, in: &settings) { machine, _ in machine.diskBytes = bytes }
  }

  func checkHostname(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard let value = singleValue(statement, scope: scope, into: &settings, example: "hostname \"web.local\""),
      let name = string(value, "'hostname'", example: "hostname \"web.local\"")
    else { return }
    checkText(name, at: value, scope: scope) { text in
      ValueChecks.hostname(text).map { "hostname '\(text)' is not a valid RFC 1123 host name: \($0)" }
    }
    store("hostname", statement, in: &settings) { machine, expansion in machine.hostname = expansion.expand(name) }
  }

  func checkBootTimeout(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard let seconds = timeout(statement, scope: scope, into: &settings, example: "boot_timeout 5m", minimum: 1_000)
    else { return }
    store("boot_timeout", statement, in: &settings) { machine, _ in machine.bootTimeoutSeconds = seconds }
  }

  func checkGracefulHaltTimeout(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    guard
      let seconds = timeout(statement, scope: scope, into: &settings, example: "graceful_halt_timeout 60s", minimum: 0)
    else { return }
    store("graceful_halt_timeout", statement, in: &settings) { machine, _ in
      machine.gracefulHaltTimeoutSeconds = seconds
    }
  }

  /// A single duration setting of at least `minimum` milliseconds, in seconds.
  private func timeout(
    _ statement: Statement, scope: Scope, into settings: inout CheckedScope, example: String, minimum: Int
  ) -> Double? {
    let setting = "'\(statement.name)'"
    guard let written = singleValue(statement, scope: scope, into: &settings, example: example),
      let value = typed(written), let milliseconds = duration(value, setting, example: example)
    else { return nil }
    guard milliseconds >= minimum else {
      error("\(setting) must be at least \(minimum / 1_000)s, got \(value.text)", at: value)
      return nil
    }
    return Double(milliseconds) / 1_000
  }
}
