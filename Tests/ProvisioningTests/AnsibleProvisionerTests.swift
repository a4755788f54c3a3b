import Core
import Foundation
import Spec
import Support
import TestSupport
import Testing

@testable import Provisioning

/// The ansible provisioner with the host's real ansible-playbook (Debian package `ansible`,
/// which `make test` installs): the inventory as ansible reads it, the command line, and
/// whole runs of plays on the host's own `localhost` (a local connection, so no guest is
/// needed) that check extra variables, tags, output and failures.
struct AnsibleProvisionerTests {
  static let hostile = [
    "a b", "it's", #"say "hi""#, "$HOME", "${PATH}", "$(touch pwned)", "`id`", "; rm -rf x", "line one\nline two",
    "*", "ünï", "-n", #"back\slash"#, "",
  ]

  static let endpoint = SSHEndpoint(
    port: 2231, user: "vagrant", identityFiles: ["/p/.caravan/machines/web/id_ed25519", "/keys/vagrant-insecure"],
    extraArgs: ["-o", "ServerAliveInterval=5"], controlPath: "/run/caravan/it's a %h socket")

  static func ansible(_ arguments: [String], home: String) async throws -> Subprocess.Result {
    let environment = AnsiblePlaybook.environment(
      ProcessInfo.processInfo.environment.merging(["HOME": home]) { $1 }, projectRoot: home)
    return try await onThread { try Subprocess(arguments, environment: environment).run() }
  }

  /// Runs the provisioner for machine `web` (HOME in the project) on a thread of its own;
  /// returns what it reported and what it asked of the guest.
  static func run(
    _ ansible: AnsibleProvisioner, name: String, projectRoot: String, running: [RunningMachine] = []
  ) async throws -> (details: [String], steps: [String]) {
    try await onThread {
      let guest = RecordingGuest(mktemp: [])
      guest.endpoint = Self.endpoint
      let reporter = RecordingReporter()
      var provisioner = GuestProvisioner()
      provisioner.environment["HOME"] = projectRoot
      try provisioner.run(
        ProvisionerSpec(name: name, kind: .ansible(ansible), location: SourceLocation(line: 2, column: 1)),
        machine: MachineSpec(name: "web"), projectRoot: projectRoot, running: .fixed(running), on: guest,
        reporter: reporter)
      return (reporter.details, guest.steps)
    }
  }

  /// A user's inventory file `hosts` with this host as `localhost` in group `local`, and a
  /// group variable; returns its name, relative to the project.
  static func localInventory(in folder: String) throws -> String {
    let text = """
      [local]
      localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3

      [local:vars]
      greeting="hello from the group"
      """
    try FileSystem.writeAtomically(Data(text.utf8), to: folder + "/hosts")
    return "hosts"
  }

  @Test func theInventoryIsTheMachineAsAnsibleReadsIt() async throws {
    let folder = try TemporaryFolder()
    let file = folder.path + "/inventory.json"
    let hosts = [RunningMachine(name: "web", endpoint: Self.endpoint)]
    try FileSystem.writeAtomically(
      try AnsibleInventory.json(AnsibleProvisioner(playbook: "site.yml"), hosts: hosts), to: file)
    let listed = try await Self.ansible(["ansible-inventory", "--inventory", file, "--list"], home: folder.path)
    #expect(listed.status == 0, "\(listed)")
    let object = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
    let hostVariables = (object?["_meta"] as? [String: Any])?["hostvars"] as? [String: [String: Any]]
    let web = try #require(hostVariables?["web"], "\(listed.stdout)")
    #expect(web["ansible_host"] as? String == "127.0.0.1")
    #expect(web["ansible_port"] as? Int == 2231)
    #expect(web["ansible_user"] as? String == "vagrant")
    #expect(web["ansible_ssh_private_key_file"] as? String == "/p/.caravan/machines/web/id_ed25519")
    #expect(web["ansible_host_key_checking"] as? Bool == false)
    // ansible splits the common arguments as a POSIX shell does (shlex); ssh then reads
    // each `-o` value: the socket path comes back with `%` doubled and in double quotes.
    let common = try #require(web["ansible_ssh_common_args"] as? String)
    let split = try await onThread {
      try Subprocess(
        ["python3", "-c", "import shlex, sys; sys.stdout.write('\\0'.join(shlex.split(sys.argv[1])))", common]
      ).run()
    }
    let words = split.stdout.split(separator: "\0").map(String.init)
    #expect(words.contains(#"ControlPath="/run/caravan/it's a %%h socket""#), "\(words)")
    #expect(words.contains("IdentityFile=/keys/vagrant-insecure"), "\(words)")
    #expect(words.contains("StrictHostKeyChecking=no") && words.contains("UserKnownHostsFile=/dev/null"))
    #expect(words.suffix(2) == ["-o", "ServerAliveInterval=5"], "ssh.extra_args last")
  }

  @Test func aKeyPathSshWouldMisreadGoesInTheSshArguments() throws {
    var endpoint = Self.endpoint
    endpoint.identityFiles = ["/my 100% project/.caravan/machines/web/id_ed25519"]
    let object = try JSONSerialization.jsonObject(
      with: AnsibleInventory.json(
        AnsibleProvisioner(playbook: "site.yml"), hosts: [RunningMachine(name: "web", endpoint: endpoint)]))
    let web = (((object as? [String: Any])?["all"] as? [String: Any])?["hosts"] as? [String: [String: Any]])?["web"]
    #expect(web?["ansible_ssh_private_key_file"] == nil)
    #expect(
      (web?["ansible_ssh_common_args"] as? String)?.contains(
        #"'IdentityFile="/my 100%% project/.caravan/machines/web/id_ed25519"'"#) == true)
  }

  @Test func theCommandLine() {
    var ansible = AnsibleProvisioner(playbook: "site.yml")
    #expect(
      AnsiblePlaybook.arguments(
        ansible, program: "/usr/bin/ansible-playbook", host: "web", playbook: "/p/site.yml", inventory: "/t/inv.json",
        userInventory: nil, extraVars: [])
        == ["/usr/bin/ansible-playbook", "--inventory", "/t/inv.json", "--limit", "web", "/p/site.yml"])
    ansible.limit = "app:&web"
    ansible.tags = ["setup", "de ploy"]
    #expect(
      AnsiblePlaybook.arguments(
        ansible, program: "ansible-playbook", host: "web", playbook: "/p/site.yml", inventory: "/t/inv.json",
        userInventory: "/p/hosts", extraVars: ["/t/extra-vars.json"])
        == [
          "ansible-playbook", "--inventory", "/p/hosts", "--inventory", "/t/inv.json", "--limit", "app:&web",
          "--extra-vars", "@/t/extra-vars.json", "--tags", "setup,de ploy", "/p/site.yml",
        ])
    // As Vagrant's: `all` as written, each variables file, become, -v…, skipped tags, and the
    // raw arguments last (they win), before the playbook.
    ansible.limit = "all"
    ansible.tags = []
    ansible.skipTags = ["slow", "net"]
    ansible.become = true
    ansible.verbosity = 3
    ansible.rawArguments = ["--diff", "--forks=2"]
    #expect(
      AnsiblePlaybook.arguments(
        ansible, program: "ansible-playbook", host: "web", playbook: "/p/site.yml", inventory: "/t/inv.json",
        userInventory: nil, extraVars: ["/t/extra-vars.json", "/p/vars.yml"])
        == [
          "ansible-playbook", "--inventory", "/t/inv.json", "--limit", "all", "--extra-vars", "@/t/extra-vars.json",
          "--extra-vars", "@/p/vars.yml", "--become", "-vvv", "--skip-tags", "slow,net", "--diff", "--forks=2",
          "/p/site.yml",
        ])
  }

  @Test func withoutAnsibleOnTheHostTheErrorNamesThePackage() throws {
    let folder = try TemporaryFolder()
    try FileSystem.writeAtomically(Data("- hosts: all\n".utf8), to: folder.path + "/site.yml")
    var provisioner = GuestProvisioner()
    provisioner.environment = ["PATH": folder.path + ":/nonexistent"]
    let guest = RecordingGuest(mktemp: [])
    guest.endpoint = Self.endpoint
    let error = #expect(throws: CaravanError.self) {
      try provisioner.run(
        ProvisionerSpec(
          name: "site", kind: .ansible(AnsibleProvisioner(playbook: "site.yml")),
          location: SourceLocation(line: 2, column: 1)),
        machine: MachineSpec(name: "web"), projectRoot: folder.path, on: guest, reporter: RecordingReporter())
    }
    #expect(error?.kind == .notFound)
    #expect(
      error?.message
        == "ansible provisioner 'site' of machine 'web' needs ansible-playbook on this host, and there is none in PATH (\(folder.path):/nonexistent)"
    )
    #expect(error?.hint == "Install Ansible: apt-get install ansible (Debian package `ansible`).")
    #expect(guest.steps.isEmpty)
  }

  /// A play on the host's own `localhost` (from the user's `inventory:`, with a local
  /// connection, and `limit: localhost`), through the whole run: each extra variable written
  /// to a file arrives byte for byte, the task tagged `setup` runs and the one tagged `other`
  /// does not, the user's group variable is there, each output line comes with the machine's name.
  @Test func extraVariablesArriveExactlyAndOnlyTaggedTasksRun() async throws {
    let folder = try TemporaryFolder()
    let out = folder.path + "/out"
    try FileSystem.makeDirectory(out)
    let tasks = Self.hostile.indices.map {
      """
          - copy: {content: "{{ v\($0) }}", dest: "{{ out }}/v\($0)"}
            tags: [setup]
      """
    }
    let playbook = """
      - hosts: localhost
        connection: local
        gather_facts: false
        tasks:
      \(tasks.joined(separator: "\n"))
          - copy: {content: "ran", dest: "{{ out }}/other"}
            tags: [other]
          - debug: {msg: "the setup tasks ran, {{ greeting }}"}
            tags: [setup]
      """
    try FileSystem.writeAtomically(Data(playbook.utf8), to: folder.path + "/play book.yml")
    var ansible = AnsibleProvisioner(playbook: "play book.yml")
    ansible.inventory = try Self.localInventory(in: folder.path)
    ansible.limit = "localhost"
    ansible.tags = ["setup"]
    ansible.extraVars = ["out": .string(out)]
    for (index, value) in Self.hostile.enumerated() { ansible.extraVars["v\(index)"] = .string(value) }
    let (details, steps) = try await Self.run(ansible, name: "site", projectRoot: folder.path)
    #expect(steps == ["execute sync"], "the playbook's writes are synced in the guest before it is recorded")
    for (index, value) in Self.hostile.enumerated() {
      #expect(FileManager.default.contents(atPath: out + "/v\(index)") == Data(value.utf8), "v\(index): \(value)")
    }
    #expect(!FileSystem.exists(out + "/other"), "a task without the tag must not run")
    #expect(!FileSystem.exists(folder.path + "/pwned") && !FileSystem.exists("pwned"))
    #expect(
      details.contains { $0.hasPrefix("web: ") && $0.contains("the setup tasks ran, hello from the group") },
      "\(details)")
    #expect(details.allSatisfy { $0.hasPrefix("web: ") })
  }

  @Test func aFailingPlaybookIsNamedWithItsStatusAndLastLines() async throws {
    let folder = try TemporaryFolder()
    try FileSystem.writeAtomically(
      Data(
        """
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - fail: {msg: "the database is not there"}
        """.utf8), to: folder.path + "/site.yml")
    var ansible = AnsibleProvisioner(playbook: "site.yml")
    ansible.inventory = try Self.localInventory(in: folder.path)
    ansible.limit = "localhost"
    var error: CaravanError?
    do { _ = try await Self.run(ansible, name: "db", projectRoot: folder.path) } catch let caught as CaravanError {
      error = caught
    }
    #expect(error?.message == "ansible provisioner 'db' of machine 'web' failed: ansible-playbook exited with status 2")
    #expect(error?.hint?.hasPrefix("Its last lines:\n") == true)
    #expect(error?.hint?.contains("the database is not there") == true, "\(error?.hint ?? "")")
    #expect(error?.hint?.hasSuffix("Fix the playbook and run `caravan provision web`.") == true)
  }

  @Test func aMissingPlaybookIsNamed() throws {
    let folder = try TemporaryFolder()
    let guest = RecordingGuest(mktemp: [])
    guest.endpoint = Self.endpoint
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        ProvisionerSpec(
          name: "site", kind: .ansible(AnsibleProvisioner(playbook: "nope.yml")),
          location: SourceLocation(line: 2, column: 1)),
        machine: MachineSpec(name: "web"), projectRoot: folder.path, on: guest, reporter: RecordingReporter())
    }
    #expect(
      error?.message
        == "ansible provisioner 'site' of machine 'web': playbook 'nope.yml' not found (looked at \(folder.path)/nope.yml)"
    )
  }
}
