import Core
import Foundation
import Spec
import Support

/// `provision ansible`: the host's `ansible-playbook` (Debian package `ansible`) against an
/// inventory Caravan writes (see `AnsibleInventory`): every running machine of the project by
/// its name, each with its forwarded SSH port on 127.0.0.1, login user, key, host key checking
/// off and its own shared ControlMaster socket, in the groups of `groups:` with the variables
/// of `host_vars:`; in a temporary folder removed after. A user's `inventory:` is given too
/// (before Caravan's, so Caravan's connection facts win), so the machines are in the user's
/// groups by their names and get their variables. Extra variables go in as a JSON file
/// (`-e @FILE`, each value with its type) or the user's own file. The run is limited to the
/// machine unless `limit:` says otherwise, as in Vagrant. A `sync` in the guest ends a
/// successful run, so what the playbook wrote is on the guest's disk.
extension GuestProvisioner {
  func runAnsible(
    _ ansible: AnsibleProvisioner, name: String, machine: MachineSpec, projectRoot: String, running: RunningMachines,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    let what = "ansible provisioner '\(name)' of machine '\(machine.name)'"
    let program = try AnsiblePlaybook.locate(for: what, environment: environment)
    let playbook = try AnsiblePlaybook.hostFile(ansible.playbook, "playbook", for: what, projectRoot: projectRoot)
    let userInventory = try ansible.inventory.map {
      try AnsiblePlaybook.hostFile($0, "inventory", for: what, projectRoot: projectRoot)
    }
    var extraVars =
      try ansible.extraVarsFile.map {
        [try AnsiblePlaybook.hostFile($0, "extra_vars file", for: what, projectRoot: projectRoot)]
      } ?? []
    guard let endpoint = communicator.sshEndpoint else {
      throw CaravanError(
        .internalError, "\(what): the machine is not reached over SSH, so ansible-playbook cannot reach it")
    }
    let folder = try FileSystem.makeTemporaryDirectory(prefix: "caravan-ansible")
    defer { try? FileSystem.removeTree(folder) }
    // This machine as its communicator reaches it, among the others that run.
    var hosts = try running.list()
    if let index = hosts.firstIndex(where: { $0.name == machine.name }) {
      hosts[index].endpoint = endpoint
    } else {
      hosts.append(RunningMachine(name: machine.name, endpoint: endpoint))
    }
    let inventory = folder + "/inventory.json"
    try FileSystem.writeAtomically(try AnsibleInventory.json(ansible, hosts: hosts), to: inventory, mode: 0o600)
    if !ansible.extraVars.isEmpty {
      let file = folder + "/extra-vars.json"
      try FileSystem.writeAtomically(
        try AnsiblePlaybook.json(ansible.extraVars.mapValues(\.json)), to: file, mode: 0o600)
      extraVars.insert(file, at: 0)
    }
    let arguments = AnsiblePlaybook.arguments(
      ansible, program: program, host: machine.name, playbook: playbook, inventory: inventory,
      userInventory: userInventory, extraVars: extraVars)
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status = try Subprocess(
      arguments, environment: AnsiblePlaybook.environment(environment, projectRoot: projectRoot)
    ).runStreamingLines { _, line in
      reporter.detail(machine.name, line)
      tail.append(line)
    }
    guard status == 0 else {
      let again = "Fix the playbook and run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)`."
      throw CaravanError(
        .guest, "\(what) failed: ansible-playbook exited with status \(status)",
        hint: (tail.quoted(silent: ["It printed nothing."]) + [again])
          .joined(separator: "\n"))
    }
    // What the playbook changed, on the guest's disk before the provisioner is recorded. The
    // playbook's own connections are ansible's: this rides the shared connection (a channel of
    // the ControlMaster ansible used too, no new SSH handshake).
    let synced = try communicator.execute(GuestProvisioner.syncCommand) { _, _ in }
    guard synced == 0 else {
      throw CaravanError(
        .guest, "\(what): `sync` in the guest after the playbook failed with exit status \(synced)",
        hint: "The playbook ran; run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)` again.")
    }
    // A playbook run beyond this machine changed the others too: their disks as well, since
    // this provisioner is recorded as done (one ad-hoc `sync` on the hosts of the limit).
    if let limit = ansible.limit, limit != machine.name, hosts.count > 1 {
      try syncHosts(
        matching: limit, inventory: inventory, beside: program, what: what, machine: machine, projectRoot: projectRoot)
    }
  }

  /// `sync` on every machine of Caravan's inventory that `limit` matches, through the host's
  /// `ansible` (beside `ansible-playbook`), so what a playbook wrote there is on their disks.
  func syncHosts(
    matching limit: String, inventory: String, beside program: String, what: String, machine: MachineSpec,
    projectRoot: String
  ) throws {
    let adHoc = (program as NSString).deletingLastPathComponent + "/ansible"
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status = try Subprocess(
      [adHoc, "--inventory", inventory, limit, "-m", "ansible.builtin.command", "-a", "sync"],
      environment: AnsiblePlaybook.environment(environment, projectRoot: projectRoot)
    ).runStreamingLines { _, line in tail.append(line) }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "\(what): `sync` on the machines of limit '\(limit)' after the playbook failed with exit status \(status)",
        hint: (tail.quoted(silent: ["It printed nothing."])
          + ["The playbook ran; run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)` again."])
          .joined(separator: "\n"))
    }
  }
}

/// The parts of an `ansible-playbook` run, each a pure function of its inputs.
enum AnsiblePlaybook {
  /// The `ansible-playbook` found on the host's PATH, or an error naming the package.
  static func locate(for what: String, environment: [String: String]) throws -> String {
    let path = environment["PATH"] ?? ""
    for folder in path.split(separator: ":") where !folder.isEmpty {
      let candidate = String(folder) + "/ansible-playbook"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    throw CaravanError(
      .notFound,
      "\(what) needs ansible-playbook on this host, and there is none in PATH (\(path.isEmpty ? "empty" : path))",
      hint: "Install Ansible: apt-get install ansible (Debian package `ansible`).")
  }

  /// A host file of the provisioner, relative to the Machinefile's folder, that must exist.
  static func hostFile(_ path: String, _ role: String, for what: String, projectRoot: String) throws -> String {
    let full = FileSystem.resolve(path, relativeTo: projectRoot)
    guard FileSystem.exists(full) else {
      throw CaravanError(
        .notFound, "\(what): \(role) '\(path)' not found (looked at \(full))",
        hint: "Paths are relative to the folder of the Machinefile.")
    }
    return full
  }

  /// The ssh options ansible adds to every ssh, scp and sftp it runs, as one string that
  /// ansible splits as a POSIX shell would: known hosts off, only the machine's keys, and the
  /// machine's ControlMaster socket, so the playbook rides the connection Caravan already has.
  /// Paths are written as ssh reads them back unchanged (`%` doubled, in double quotes).
  static func sshCommonArguments(_ endpoint: SSHEndpoint) -> String {
    var options = [
      "UserKnownHostsFile=/dev/null", "StrictHostKeyChecking=no", "LogLevel=ERROR", "IdentitiesOnly=yes",
      "PasswordAuthentication=no",
    ]
    let others = plainKey(endpoint) == nil ? endpoint.identityFiles : Array(endpoint.identityFiles.dropFirst())
    for key in others { options.append("IdentityFile=" + sshPath(key)) }
    if let control = endpoint.controlPath {
      options += ["ControlMaster=auto", "ControlPersist=60", "ControlPath=" + sshPath(control)]
    }
    if endpoint.forwardAgent { options.append("ForwardAgent=yes") }
    if let jump = endpoint.jump {
      // Through the remote libvirt's host, as Caravan's own ssh goes.
      let option = jump.openSSHOption
      options.append("\(option.key)=\(option.value)")
    }
    let words = options.flatMap { ["-o", $0] } + endpoint.extraArgs
    return words.map(shellQuote).joined(separator: " ")
  }

  /// The first key, when its path needs no escaping for ssh.
  static func plainKey(_ endpoint: SSHEndpoint) -> String? {
    endpoint.identityFiles.first.flatMap { sshPath($0) == $0 ? $0 : nil }
  }

  static func sshPath(_ path: String) -> String {
    let escaped = path.replacingOccurrences(of: "%", with: "%%")
    guard escaped.contains(where: { " \t\"'\\#".contains($0) }) else { return escaped }
    return "\"" + escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      + "\""
  }

  /// The command line, in the order of Vagrant's: the user's inventory first, Caravan's last
  /// (a host's variables from a later source win), the machine as the limit unless `limit:`
  /// is given, each extra variables file, `--become`, `-v…`, the tags joined as `--tags`
  /// takes them, then `raw_arguments:` (last, so they win), the playbook last. No shell
  /// ever reads it.
  static func arguments(
    _ ansible: AnsibleProvisioner, program: String, host: String, playbook: String, inventory: String,
    userInventory: String?, extraVars: [String]
  ) -> [String] {
    var arguments = [program]
    if let userInventory { arguments += ["--inventory", userInventory] }
    arguments += ["--inventory", inventory, "--limit", ansible.limit ?? host]
    for file in extraVars { arguments += ["--extra-vars", "@" + file] }
    if ansible.become { arguments.append("--become") }
    if ansible.verbosity > 0 { arguments.append("-" + String(repeating: "v", count: ansible.verbosity)) }
    if !ansible.tags.isEmpty { arguments += ["--tags", ansible.tags.joined(separator: ",")] }
    if !ansible.skipTags.isEmpty { arguments += ["--skip-tags", ansible.skipTags.joined(separator: ",")] }
    arguments += ansible.rawArguments
    arguments.append(playbook)
    return arguments
  }

  /// The host's environment with output unbuffered (lines come as they are printed), no
  /// retry files, and the project's `ansible.cfg` when it has one and none is chosen.
  static func environment(_ host: [String: String], projectRoot: String) -> [String: String] {
    var environment = host
    environment["PYTHONUNBUFFERED"] = "1"
    environment["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    environment["ANSIBLE_RETRY_FILES_ENABLED"] = "False"
    let config = projectRoot + "/ansible.cfg"
    if environment["ANSIBLE_CONFIG"] == nil, FileSystem.exists(config) { environment["ANSIBLE_CONFIG"] = config }
    return environment
  }

  static func json(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
  }
}
