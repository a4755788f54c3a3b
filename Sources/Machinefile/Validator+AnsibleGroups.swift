// `groups:` and `host_vars:` of `provision ansible`, read as Vagrant's ansible provisioner
// reads them: `GROUP` (machine names or patterns), `"GROUP:children"` (groups) and
// `"GROUP:vars"` (variables); `host_vars:` maps a machine to its variables.

import Spec
import Support

extension Validator {
  static let groupsExample = #"groups: {web: ["web-1", "web-2"], "app:children": ["web"], "web:vars": {port: 8080}}"#

  /// The groups of `groups:`, in the order their names first appear. A child must be a group
  /// given here; variables go to a group given here or to `all`.
  func ansibleGroups(_ value: Value, scope: Scope) -> [CheckedGroup]? {
    let subject = "'groups:' of 'provision ansible'"
    guard case .map(let entries) = value.kind else {
      wrongType(value, subject, expected: "a map of groups", example: Validator.groupsExample)
      return nil
    }
    var groups: [CheckedGroup] = []
    var defined = Set<String>()
    var children: [(group: String, name: String, value: Value)] = []
    var varsKeys: [(group: String, entry: MapEntry)] = []
    var seen: [String: SourceLocation] = [:]
    var valid = true
    func group(_ name: String) -> Int {
      if let index = groups.firstIndex(where: { $0.name == name }) { return index }
      groups.append(CheckedGroup(name: name))
      return groups.count - 1
    }
    for entry in entries {
      if let first = seen[entry.key] {
        error(
          "duplicate key '\(entry.key)' in \(subject); it is already given at \(first); remove one of them",
          at: entry.keyLocation, length: entry.keyLength)
        valid = false
        continue
      }
      seen[entry.key] = entry.keyLocation
      guard let key = groupKey(entry, subject) else {
        valid = false
        continue
      }
      let (name, section) = key
      let what = "'\(entry.key)' in \(subject)"
      switch section {
      case "children":
        defined.insert(name)
        let (named, allNamed) = groupNames(entry.value, what, of: name)
        valid = valid && allNamed
        let index = group(name)
        groups[index].children = named.map(\.name)
        children += named.map { (group: name, name: $0.name, value: $0.value) }
      case "vars":
        guard let vars = ansibleVariables(entry.value, what, example: "\"\(name):vars\": {port: 8080}") else {
          valid = false
          continue
        }
        let index = group(name)
        groups[index].vars = vars
        varsKeys.append((name, entry))
      default:
        defined.insert(name)
        guard let members = groupMembers(entry.value, what, scope: scope) else {
          valid = false
          continue
        }
        let index = group(name)
        groups[index].members = members
      }
    }
    for child in children where !defined.contains(child.name) {
      error(
        "group '\(child.name)' in '\(child.group):children' of \(subject) is not given there; add its machines, e.g. \"\(child.name)\": [\"web\"], or remove it",
        at: child.value)
      valid = false
    }
    for vars in varsKeys where vars.group != "all" && !defined.contains(vars.group) {
      error(
        "'\(vars.entry.key)' in \(subject) gives variables to group '\(vars.group)', which is not given there; add its machines, e.g. \"\(vars.group)\": [\"web\"], or use \"all:vars\"",
        at: vars.entry.keyLocation, length: vars.entry.keyLength)
      valid = false
    }
    return valid ? groups : nil
  }

  /// An Ansible group name: a letter or '_', then letters, digits, '_', '-' and '.'.
  /// Ansible warns about '-' and '.' ("invalid characters … not replaced") but keeps
  /// and uses them, and real projects' inventories have them (kubespray's `kube-master`).
  static func isGroupName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.isASCII, first == "_" || first.properties.isAlphabetic else {
      return false
    }
    return name.unicodeScalars.allSatisfy {
      $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0))
    }
  }

  /// A key of `groups:`: the group's name and its section (`""`, `children` or `vars`).
  private func groupKey(_ entry: MapEntry, _ subject: String) -> (name: String, section: String)? {
    let parts = entry.key.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let name = parts[0]
    let section = parts.count > 1 ? parts[1] : ""
    let report = { (message: String) in self.error(message, at: entry.keyLocation, length: entry.keyLength) }
    guard ["", "children", "vars"].contains(section) else {
      report(
        "unknown section ':\(section)' in '\(entry.key)' of \(subject); a key is \"GROUP\" (its machines), \"GROUP:children\" (its groups) or \"GROUP:vars\" (its variables)"
      )
      return nil
    }
    guard Validator.isGroupName(name) else {
      report(
        "group name '\(name)' in \(subject) is not one Ansible takes; use letters, digits, '_', '-' and '.', starting with a letter or '_'"
      )
      return nil
    }
    if name == "all" && section != "vars" {
      report(
        "group 'all' in \(subject) is Ansible's own and holds every machine already; give its variables as \"all:vars\""
      )
      return nil
    }
    if name == "ungrouped" {
      report("group 'ungrouped' in \(subject) is Ansible's own (the machines in no other group); choose another name")
      return nil
    }
    return (name, section)
  }

  /// A group's machines: names or patterns (`web-*`, `web-[1:3]`), a list or one of them.
  private func groupMembers(_ value: Value, _ subject: String, scope: Scope) -> [StringLiteral]? {
    let example = "[\"web-1\", \"web-[2:3]\"]"
    let elements: [Value]
    if case .list(let list) = value.kind { elements = list } else { elements = [value] }
    var members: [StringLiteral] = []
    var valid = true
    for element in elements {
      guard let member = stringOrName(element, "the machines of \(subject)", example: example) else {
        valid = false
        continue
      }
      members.append(member)
      checkText(member, at: element, scope: scope) { text in
        if text.isEmpty { return "\(subject) has an empty machine name; give a machine's name or a pattern" }
        guard text.contains(where: { $0.isWhitespace || $0 == "," }) else { return nil }
        return
          "\(subject) has \"\(text)\", which is not a machine name or a pattern; write one name or pattern per element, e.g. \(example)"
      }
    }
    return valid ? members : nil
  }

  /// The groups of a `"GROUP:children"` key (group names, a list or one of them) that are
  /// well written, and whether all are.
  private func groupNames(_ value: Value, _ subject: String, of parent: String) -> (
    [(name: String, value: Value)], Bool
  ) {
    let elements: [Value]
    if case .list(let list) = value.kind { elements = list } else { elements = [value] }
    var names: [(name: String, value: Value)] = []
    var valid = true
    for element in elements {
      var name: String?
      switch element.kind {
      case .name(let word): name = word
      case .string(let literal, false): name = literal.plainText
      default: break
      }
      guard let name, Validator.isGroupName(name) else {
        error("\(subject) expects group names, e.g. [\"web\", \"db\"], got \(element.described)", at: element)
        valid = false
        continue
      }
      guard name != parent else {
        error("group '\(parent)' cannot be a child of itself in \(subject); remove '\(name)'", at: element)
        valid = false
        continue
      }
      names.append((name, element))
    }
    return (names, valid)
  }

  /// `host_vars:`: each machine's name and its variables.
  func ansibleHostVars(_ value: Value) -> [(machine: String, vars: [CheckedData.Entry])]? {
    let subject = "'host_vars:' of 'provision ansible'"
    let example = "host_vars: {web: {http_port: 80}, db: {role: \"primary\"}}"
    return mapEntries(
      value, subject, expected: "a map of machines to their variables", example: example, keyNoun: "machine"
    ) { entry in
      ansibleVariables(entry.value, "the variables of machine '\(entry.key)' in \(subject)", example: example)
    }?.map { (machine: $0.key, vars: $0.value) }
  }
}
