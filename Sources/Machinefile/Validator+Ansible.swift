// `provision ansible`: the options of Vagrant's ansible provisioner, with variables of any
// type (`extra_vars:`, `host_vars:`, a group's `:vars`) and the inventory's groups.

import Spec
import Support

extension Validator {
  static let ansibleOptions = [
    "playbook", "extra_vars", "inventory", "limit", "tags", "skip_tags", "groups", "host_vars", "become",
    "raw_arguments", "verbose",
  ]

  /// A variable's value as written, before `${…}` is expanded.
  enum CheckedData {
    /// One key of a map and its value (a struct: a tuple here made the compiler see a
    /// circular reference when the fuzz target builds these files as one module).
    struct Entry {
      var key: String
      var value: CheckedData
    }

    case text(StringLiteral)
    case integer(Int)
    case bool(Bool)
    case list([CheckedData])
    case map([CheckedData.Entry])

    func expanded(_ expansion: Expansion) -> AnsibleValue {
      switch self {
      case .text(let literal): return .string(expansion.expand(literal))
      case .integer(let number): return .integer(number)
      case .bool(let flag): return .bool(flag)
      case .list(let values): return .list(values.map { $0.expanded(expansion) })
      case .map(let entries): return .map(CheckedData.expanded(entries, expansion))
      }
    }

    static func expanded(_ entries: [CheckedData.Entry], _ expansion: Expansion)
      -> [String: AnsibleValue]
    {
      Dictionary(entries.map { ($0.key, $0.value.expanded(expansion)) }, uniquingKeysWith: { first, _ in first })
    }
  }

  /// One group of `groups:`, from its `GROUP`, `"GROUP:children"` and `"GROUP:vars"` keys.
  struct CheckedGroup {
    var name: String
    var members: [StringLiteral] = []
    var children: [String] = []
    var vars: [CheckedData.Entry] = []
  }

  /// What an ansible provisioner's options hold, as written.
  struct CheckedAnsible {
    var playbook: StringLiteral
    var extraVars: [CheckedData.Entry] = []
    var extraVarsFile: StringLiteral?
    var inventory: StringLiteral?
    var limit: [StringLiteral]?
    var tags: [StringLiteral] = []
    var skipTags: [StringLiteral] = []
    var groups: [CheckedGroup] = []
    var hostVars: [(machine: String, vars: [CheckedData.Entry])] = []
    var become = false
    var rawArguments: [StringLiteral] = []
    var verbosity = 0

    func lowered(_ expansion: Expansion) -> ProvisionerSpec.Kind {
      var ansible = AnsibleProvisioner(playbook: expansion.expand(playbook))
      ansible.extraVars = CheckedData.expanded(extraVars, expansion)
      ansible.extraVarsFile = extraVarsFile.map {
        let text = expansion.expand($0)
        return text.hasPrefix("@") ? String(text.dropFirst()) : text
      }
      ansible.inventory = inventory.map(expansion.expand)
      ansible.limit = limit.map { expansion.expand($0).joined(separator: ",") }
      ansible.tags = expansion.expand(tags)
      ansible.skipTags = expansion.expand(skipTags)
      ansible.groups = groups.map { checked in
        var group = AnsibleGroup(name: checked.name)
        group.members = expansion.expand(checked.members)
        group.children = checked.children
        group.vars = CheckedData.expanded(checked.vars, expansion)
        return group
      }
      ansible.hostVars = Dictionary(
        hostVars.map { ($0.machine, CheckedData.expanded($0.vars, expansion)) }, uniquingKeysWith: { first, _ in first }
      )
      ansible.become = become
      ansible.rawArguments = expansion.expand(rawArguments)
      ansible.verbosity = verbosity
      return .ansible(ansible)
    }
  }

  func checkAnsible(_ statement: Statement, _ options: FoundOptions, scope: Scope)
    -> ((Expansion) -> ProvisionerSpec.Kind)?
  {
    let subject = { (label: String) in "'\(label):' of 'provision ansible'" }
    var playbook: StringLiteral?
    if let option = options["playbook"] {
      playbook = string(option.value, subject("playbook"), example: "playbook: \"site.yml\"")
    } else {
      error(
        "an ansible provisioner needs playbook: \(scope.description), e.g. `provision ansible, playbook: \"site.yml\"`",
        at: statement)
    }
    var checked = CheckedAnsible(playbook: playbook ?? StringLiteral(parts: []))
    if let option = options["extra_vars"] { checkExtraVars(option.value, scope: scope, into: &checked) }
    checked.inventory = options["inventory"].flatMap { string($0.value, subject("inventory")) }
    checked.limit = options["limit"].flatMap { ansibleLimit($0.value, scope: scope) }
    for (label, example) in [("tags", "tags: [\"web\", \"db\"]"), ("skip_tags", "skip_tags: [\"slow\"]")] {
      guard let option = options[label] else { continue }
      let list = stringList(option.value, subject(label), example: example, allowSingle: true) ?? []
      if label == "tags" { checked.tags = list } else { checked.skipTags = list }
    }
    checked.groups = options["groups"].flatMap { ansibleGroups($0.value, scope: scope) } ?? []
    checked.hostVars = options["host_vars"].flatMap { ansibleHostVars($0.value) } ?? []
    if let option = options["become"], let flag = bool(option.value, subject("become")) { checked.become = flag }
    if let option = options["raw_arguments"] {
      checked.rawArguments =
        stringList(option.value, subject("raw_arguments"), example: "raw_arguments: [\"--diff\"]") ?? []
    }
    if let option = options["verbose"], let level = ansibleVerbosity(option.value) { checked.verbosity = level }
    guard playbook != nil else { return nil }
    return { [checked] expansion in checked.lowered(expansion) }
  }

  /// `extra_vars:` is a map of variables, or `"@FILE"`: a host file of them.
  private func checkExtraVars(_ value: Value, scope: Scope, into checked: inout CheckedAnsible) {
    let subject = "'extra_vars:' of 'provision ansible'"
    switch value.kind {
    case .string(let literal, _):
      checked.extraVarsFile = literal
      checkText(literal, at: value, scope: scope) { text in
        text.hasPrefix("@") && text.count > 1
          ? nil
          : "\(subject) names a host file of variables with '@' in front, e.g. \"@vars.yml\", got \"\(text)\"; or write a map of variables, e.g. {role: \"web\"}"
      }
    case .map:
      checked.extraVars = ansibleVariables(value, subject, example: "extra_vars: {role: \"web\", workers: 4}") ?? []
    default:
      wrongType(
        value, subject, expected: "a map of variables or a host file as \"@FILE\"",
        example: "extra_vars: {role: \"web\", workers: 4}")
    }
  }

  /// `limit:` is an Ansible pattern (`"all"`, `"web:&db"`) or a list of them, joined with `,`.
  private func ansibleLimit(_ value: Value, scope: Scope) -> [StringLiteral]? {
    let subject = "'limit:' of 'provision ansible'"
    let elements: [Value]
    if case .list(let list) = value.kind { elements = list } else { elements = [value] }
    if elements.isEmpty {
      error("\(subject) is an empty list; leave it out to limit the run to the machine, or write \"all\"", at: value)
      return nil
    }
    var patterns: [StringLiteral] = []
    for element in elements {
      guard let pattern = stringOrName(element, subject, example: "limit: \"all\"") else { return nil }
      patterns.append(pattern)
      checkText(pattern, at: element, scope: scope) {
        $0.isEmpty ? "\(subject) has an empty pattern; leave it out to limit the run to the machine" : nil
      }
    }
    return patterns
  }

  /// `verbose:` is true (`-v`), false, or "v" to "vvvv" (with or without the `-`).
  private func ansibleVerbosity(_ value: Value) -> Int? {
    var word: String?
    switch value.kind {
    case .bool(let flag): return flag ? 1 : 0
    case .name(let name): word = name
    case .string(let literal, false): word = literal.plainText
    default: break
    }
    if let word {
      let letters = word.hasPrefix("-") ? word.dropFirst() : Substring(word)
      if (1...4).contains(letters.count), letters.allSatisfy({ $0 == "v" }) { return letters.count }
    }
    error(
      "'verbose:' of 'provision ansible' expects true, false or \"v\" to \"vvvv\" (as many -v), got \(value.described)",
      at: value)
    return nil
  }

  /// A map of Ansible variables: names Ansible takes, values of any type.
  func ansibleVariables(_ value: Value, _ subject: String, example: String) -> [CheckedData.Entry]? {
    dataMap(value, subject, example: example) { key in
      isVariableName(key)
        ? nil
        : "variable name '\(key)' in \(subject) is not one Ansible takes; use letters, digits and '_', not starting with a digit"
    }
  }

  /// A map whose values are of any type; `checkKey` vets each key.
  private func dataMap(
    _ value: Value, _ subject: String, example: String, checkKey: ((String) -> String?)? = nil
  ) -> [CheckedData.Entry]? {
    mapEntries(value, subject, example: example, checkKey: checkKey) { data($0.value, subject) }?
      .map { CheckedData.Entry(key: $0.key, value: $0.value) }
  }

  /// A value of any type: a string (a name, size or duration as its text), an integer, a
  /// boolean, or a list or map of them.
  private func data(_ value: Value, _ subject: String) -> CheckedData? {
    switch value.kind {
    case .string(let literal, _): return .text(literal)
    case .name(let name): return .text(StringLiteral(parts: [.text(name)]))
    case .size, .duration: return .text(StringLiteral(parts: [.text(value.text)]))
    case .integer(let number): return .integer(number)
    case .bool(let flag): return .bool(flag)
    case .list(let elements):
      let values = elements.map { data($0, subject) }
      let valid = values.compactMap { $0 }
      return valid.count == values.count ? .list(valid) : nil
    case .map: return dataMap(value, subject, example: "{KEY: \"value\"}").map { CheckedData.map($0) }
    case .pair:
      error(
        "\(subject) cannot hold a mapping 'A -> B'; write a string, a number, a boolean, a list or a map", at: value)
      return nil
    }
  }
}
