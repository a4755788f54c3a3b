import Core
import Foundation
import Spec
import Support

/// The inventory Caravan writes for `ansible-playbook`, in the YAML inventory plugin's form
/// written as JSON (YAML's subset, so no value needs quoting). As Vagrant's: every running
/// machine of the project is a host by its name, with its connection (and its `host_vars:`,
/// which win); each group of `groups:` holds the running machines its names and patterns
/// pick (a machine that does not run is left out), its `:children` groups and its `:vars`.
enum AnsibleInventory {
  static func json(_ ansible: AnsibleProvisioner, hosts: [RunningMachine]) throws -> Data {
    try AnsiblePlaybook.json(object(ansible, hosts: hosts))
  }

  static func object(_ ansible: AnsibleProvisioner, hosts: [RunningMachine]) -> [String: Any] {
    var entries: [String: Any] = [:]
    for host in hosts {
      var variables = connection(host.endpoint)
      for (key, value) in ansible.hostVars[host.name] ?? [:] { variables[key] = value.json }
      entries[host.name] = variables
    }
    var all: [String: Any] = ["hosts": entries]
    var groups: [String: Any] = [:]
    let names = hosts.map(\.name)
    for group in ansible.groups {
      guard group.name != "all" else {
        if !group.vars.isEmpty { all["vars"] = group.vars.mapValues(\.json) }
        continue
      }
      var entry: [String: Any] = [:]
      let members = matching(group.members, among: names)
      if !members.isEmpty { entry["hosts"] = Dictionary(members.map { ($0, [String: Any]()) }) { first, _ in first } }
      if !group.children.isEmpty {
        entry["children"] = Dictionary(group.children.map { ($0, [String: Any]()) }) { first, _ in first }
      }
      if !group.vars.isEmpty { entry["vars"] = group.vars.mapValues(\.json) }
      groups[group.name] = entry
    }
    if !groups.isEmpty { all["children"] = groups }
    return ["all": all]
  }

  /// A host's connection: 127.0.0.1, the forwarded port, the login user, its key, no host
  /// key checking, and the ssh options of `sshCommonArguments`.
  static func connection(_ endpoint: SSHEndpoint) -> [String: Any] {
    var variables: [String: Any] = [
      "ansible_connection": "ssh",
      "ansible_host": endpoint.host,
      "ansible_port": endpoint.port,
      "ansible_user": endpoint.user,
      "ansible_host_key_checking": false,
      "ansible_ssh_common_args": AnsiblePlaybook.sshCommonArguments(endpoint),
      // Debian's python3, found without the "discovered interpreter" warning.
      "ansible_python_interpreter": "auto_silent",
    ]
    // ansible writes this as `-o IdentityFile="PATH"`, which ssh reads wrongly for a path with
    // `%` or a quote: such a path goes into the ssh arguments instead, written as ssh reads it.
    if let key = AnsiblePlaybook.plainKey(endpoint) { variables["ansible_ssh_private_key_file"] = key }
    return variables
  }

  /// The names among `names` (in their order) that a group's members pick: a name, a glob
  /// (`web-*`, `db?`) or a range as Ansible's inventory writes them (`web-[1:3]`,
  /// `node[01:10]`, `[a:c]`, `[1:9:2]`). A member that picks no running machine picks nothing.
  static func matching(_ members: [String], among names: [String]) -> [String] {
    let patterns = members.flatMap { expandingRanges($0) }
    return names.filter { name in patterns.contains { fnmatch($0, name, 0) == 0 } }
  }

  /// The most names one range gives (a range is matched against a project's machines).
  static let rangeLimit = 10_000

  /// `pattern` with each `[START:END]` or `[START:END:STEP]` written out, as Ansible expands
  /// a host range: numbers (zero-padded to the start's width when it starts with `0`) or
  /// single letters. Other brackets (a glob's `[ab]`) stay as they are.
  static func expandingRanges(_ pattern: String) -> [String] {
    guard let open = pattern.firstIndex(of: "["), let close = pattern[open...].firstIndex(of: "]") else {
      return [pattern]
    }
    let head = String(pattern[..<open])
    let inner = String(pattern[pattern.index(after: open)..<close])
    let rest = expandingRanges(String(pattern[pattern.index(after: close)...]))
    guard let items = rangeItems(inner) else { return rest.map { head + "[" + inner + "]" + $0 } }
    return items.flatMap { item in rest.map { head + item + $0 } }
  }

  /// The names of a range's inside (`1:3`, `01:10`, `a:c`, `1:9:2`); nil when it is not one.
  static func rangeItems(_ inner: String) -> [String]? {
    let parts = inner.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 2 || parts.count == 3 else { return nil }
    let step = parts.count == 3 ? Int(parts[2]) : 1
    guard let step, step > 0 else { return nil }
    if let low = Int(parts[0]), let high = Int(parts[1]), low >= 0, low <= high {
      let width = parts[0].count > 1 && parts[0].hasPrefix("0") ? parts[0].count : 0
      return stride(from: low, through: high, by: step).prefix(rangeLimit).map {
        let digits = String($0)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
      }
    }
    let letters = parts.prefix(2).compactMap { $0.count == 1 ? $0.unicodeScalars.first : nil }
    guard letters.count == 2, letters.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII }),
      letters[0].value <= letters[1].value
    else { return nil }
    return stride(from: letters[0].value, through: letters[1].value, by: step).compactMap {
      Unicode.Scalar($0).map { String(Character($0)) }
    }
  }
}

extension AnsibleValue {
  /// The value as `JSONSerialization` writes it.
  var json: Any {
    switch self {
    case .string(let text): return text
    case .integer(let number): return number
    case .bool(let flag): return flag
    case .list(let values): return values.map(\.json)
    case .map(let entries): return entries.mapValues(\.json)
    }
  }
}
