import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// The multi-machine inventory, as the host's real ansible reads it: every running machine a
/// host, `groups:` (names, patterns, `:children`, `:vars`), `host_vars:`, and `limit:` by
/// default the machine, `all` every machine; variables of every type.
struct AnsibleInventoryTests {
  static func text(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
  }

  static func machine(_ name: String, port: Int) -> RunningMachine {
    RunningMachine(
      name: name,
      endpoint: SSHEndpoint(
        port: port, user: "vagrant", identityFiles: ["/p/.caravan/machines/\(name)/id_ed25519"],
        controlPath: "/run/caravan/p-\(name)"))
  }

  /// web-1, web-2, web-3 and db run; `cache` is named in a group and in `host_vars:` but does not run.
  static var grouped: AnsibleProvisioner {
    var ansible = AnsibleProvisioner(playbook: "site.yml")
    var web = AnsibleGroup(name: "web")
    web.members = ["web-[1:2]", "cache"]
    var dbs = AnsibleGroup(name: "dbs")
    dbs.members = ["db*"]
    var app = AnsibleGroup(name: "app")
    app.children = ["web", "dbs"]
    app.vars = ["tier": .string("front"), "ports": .list([.integer(80), .integer(443)])]
    var all = AnsibleGroup(name: "all")
    all.vars = ["dc": .string("lab")]
    // kubespray's group names: Ansible warns about '-' but keeps and uses them.
    var master = AnsibleGroup(name: "kube-master")
    master.members = ["web-1"]
    var cluster = AnsibleGroup(name: "k8s-cluster")
    cluster.children = ["kube-master", "dbs"]
    ansible.groups = [web, dbs, app, all, master, cluster]
    ansible.hostVars = [
      "web-1": ["http_port": .integer(8080), "primary": .bool(true), "labels": .map(["a": .string("b")])],
      "cache": ["size": .integer(1)],
    ]
    return ansible
  }

  @Test func everyRunningMachineIsAHostInItsGroups() async throws {
    let folder = try TemporaryFolder()
    let file = folder.path + "/inventory.json"
    let hosts = [
      Self.machine("web-1", port: 2201), Self.machine("web-2", port: 2202), Self.machine("web-3", port: 2203),
      Self.machine("db", port: 2204),
    ]
    try FileSystem.writeAtomically(try AnsibleInventory.json(Self.grouped, hosts: hosts), to: file)
    let listed = try await AnsibleProvisionerTests.ansible(
      ["ansible-inventory", "--inventory", file, "--list"], home: folder.path)
    #expect(listed.status == 0, "\(listed)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
    let variables = try #require((object["_meta"] as? [String: Any])?["hostvars"] as? [String: [String: Any]])
    #expect(Set(variables.keys) == ["web-1", "web-2", "web-3", "db"], "a machine that does not run is no host")
    for (index, host) in hosts.enumerated() {
      let own = try #require(variables[host.name])
      #expect(own["ansible_host"] as? String == "127.0.0.1")
      #expect(own["ansible_port"] as? Int == 2201 + index, "\(host.name): \(own)")
      #expect(own["ansible_ssh_private_key_file"] as? String == "/p/.caravan/machines/\(host.name)/id_ed25519")
      #expect((own["ansible_ssh_common_args"] as? String)?.contains("ControlPath=/run/caravan/p-\(host.name)") == true)
      #expect(own["dc"] as? String == "lab", "all:vars reach every machine")
    }
    let web1 = try #require(variables["web-1"])
    #expect(web1["http_port"] as? Int == 8080 && web1["primary"] as? Bool == true, "\(web1)")
    #expect((web1["labels"] as? [String: String]) == ["a": "b"])
    #expect(web1["tier"] as? String == "front" && web1["ports"] as? [Int] == [80, 443], "app:vars through web")
    #expect(variables["web-3"]?["tier"] == nil, "web-3 is in no group")
    #expect(variables["db"]?["tier"] as? String == "front", "app:vars through dbs")

    func group(_ name: String) -> [String: Any] { object[name] as? [String: Any] ?? [:] }
    #expect(group("web")["hosts"] as? [String] == ["web-1", "web-2"], "a range picks; a stopped machine does not")
    #expect(group("dbs")["hosts"] as? [String] == ["db"], "a glob picks")
    #expect(Set(group("app")["children"] as? [String] ?? []) == ["web", "dbs"])
    #expect(group("ungrouped")["hosts"] as? [String] == ["web-3"])
    #expect(group("kube-master")["hosts"] as? [String] == ["web-1"], "a group name with '-'")
    #expect(Set(group("k8s-cluster")["children"] as? [String] ?? []) == ["kube-master", "dbs"])
  }

  @Test func patternsPickRunningMachines() {
    #expect(AnsibleInventory.expandingRanges("web-[1:3]") == ["web-1", "web-2", "web-3"])
    #expect(AnsibleInventory.expandingRanges("node[01:10:3]") == ["node01", "node04", "node07", "node10"])
    #expect(AnsibleInventory.expandingRanges("[a:c]-[1:2]") == ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"])
    #expect(AnsibleInventory.expandingRanges("web[12]") == ["web[12]"], "a glob's class stays")
    #expect(
      AnsibleInventory.matching(
        ["web-[1:2]", "db*", "nope", "web[3]"], among: ["db", "web-1", "web-3", "web3", "dbx"])
        == ["db", "web-1", "web3", "dbx"])
  }

  /// Three "machines" reached with a local connection (their `host_vars:` win over
  /// Caravan's connection): the play writes each host's name, groups and a host variable.
  /// Without `limit:` only the machine being provisioned (`web`) runs; with `all`, each one.
  @Test func limitIsTheMachineUnlessAllIsAsked() async throws {
    let folder = try TemporaryFolder()
    let out = folder.path + "/out"
    try FileSystem.makeDirectory(out)
    try FileSystem.writeAtomically(
      Data(
        """
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {content: "{{ inventory_hostname }} {{ group_names | join(',') }} {{ role }}", dest: "{{ out }}/{{ inventory_hostname }}"}
        """.utf8), to: folder.path + "/site.yml")
    var ansible = AnsibleProvisioner(playbook: "site.yml")
    ansible.extraVars = ["out": .string(out)]
    var front = AnsibleGroup(name: "front")
    front.members = ["web", "cache"]
    var back = AnsibleGroup(name: "back")
    back.members = ["db"]
    ansible.groups = [front, back]
    let local: [String: AnsibleValue] = [
      "ansible_connection": .string("local"), "ansible_python_interpreter": .string("/usr/bin/python3"),
    ]
    for name in ["web", "db", "cache"] {
      ansible.hostVars[name] = local.merging(["role": .string("the \(name)")]) { $1 }
    }
    let running = [
      Self.machine("web", port: 2201), Self.machine("db", port: 2202), Self.machine("cache", port: 2203),
    ]
    _ = try await AnsibleProvisionerTests.run(ansible, name: "play", projectRoot: folder.path, running: running)
    #expect(try Self.text(out + "/web") == "web front the web")
    #expect(!FileSystem.exists(out + "/db") && !FileSystem.exists(out + "/cache"), "limited to the machine")

    ansible.limit = "all"
    _ = try await AnsibleProvisionerTests.run(ansible, name: "play", projectRoot: folder.path, running: running)
    #expect(try Self.text(out + "/db") == "db back the db")
    #expect(try Self.text(out + "/cache") == "cache front the cache")
  }

  /// Extra variables keep their types, and a file of them (`@vars.yml`) comes after.
  @Test func extraVariablesKeepTheirTypes() async throws {
    let folder = try TemporaryFolder()
    let out = folder.path + "/types"
    try FileSystem.writeAtomically(
      Data(
        """
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - copy:
                content: "{{ [workers | type_debug, debug | type_debug, ports | type_debug, nested | type_debug, nested.size, workers + 1, from_file] | join(' ') }}"
                dest: "{{ out }}"
        """.utf8), to: folder.path + "/site.yml")
    try FileSystem.writeAtomically(Data("from_file: read from the file\n".utf8), to: folder.path + "/vars.yml")
    var ansible = AnsibleProvisioner(playbook: "site.yml")
    ansible.inventory = try AnsibleProvisionerTests.localInventory(in: folder.path)
    ansible.limit = "localhost"
    ansible.extraVars = [
      "out": .string(out), "workers": .integer(4), "debug": .bool(true),
      "ports": .list([.integer(80), .string("443")]), "nested": .map(["size": .string("1GiB")]),
    ]
    ansible.extraVarsFile = "vars.yml"
    _ = try await AnsibleProvisionerTests.run(ansible, name: "types", projectRoot: folder.path)
    #expect(try Self.text(out) == "int bool list dict 1GiB 5 read from the file")
  }
}
