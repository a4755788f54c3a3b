/// `provision ansible`: the host's `ansible-playbook` against an inventory of the project's
/// running machines, with the options of Vagrant's ansible provisioner.
public struct AnsibleProvisioner: Sendable, Equatable {
  /// Host file, relative to the project.
  public var playbook: String
  /// `extra_vars:` written as a map: each value as typed (string, number, boolean, list, map).
  public var extraVars: [String: AnsibleValue] = [:]
  /// `extra_vars: "@FILE"`: a host file of variables (JSON or YAML), relative to the project.
  public var extraVarsFile: String?
  /// A user's inventory file or folder, relative to the project.
  public var inventory: String?
  /// `--limit`: nil is the machine being provisioned; `"all"` or any Ansible pattern
  /// (a list is joined with `,`).
  public var limit: String?
  public var tags: [String] = []
  public var skipTags: [String] = []
  /// The inventory's groups, in the order the Machinefile first names them.
  public var groups: [AnsibleGroup] = []
  /// Each machine's own variables, by machine name.
  public var hostVars: [String: [String: AnsibleValue]] = [:]
  /// `--become`.
  public var become = false
  /// Passed last, before the playbook, as written (they win over Caravan's).
  public var rawArguments: [String] = []
  /// How many `-v`: 0 (none) to 4 (`-vvvv`).
  public var verbosity = 0
  public init(playbook: String) { self.playbook = playbook }
}

/// One group of `groups:`: `GROUP` (its machines: names or patterns), `"GROUP:children"`
/// (its groups) and `"GROUP:vars"` (its variables), as Vagrant's ansible provisioner reads them.
/// The group `all` has only variables.
public struct AnsibleGroup: Sendable, Equatable {
  public var name: String
  /// Machine names or patterns (`web-*`, `web-[1:3]`), matched against the running machines.
  public var members: [String] = []
  public var children: [String] = []
  public var vars: [String: AnsibleValue] = [:]
  public init(name: String) { self.name = name }
}

/// A variable's value as Ansible receives it (JSON's types).
public indirect enum AnsibleValue: Sendable, Equatable {
  case string(String)
  case integer(Int)
  case bool(Bool)
  case list([AnsibleValue])
  case map([String: AnsibleValue])
}
