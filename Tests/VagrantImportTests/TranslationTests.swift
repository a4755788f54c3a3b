import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import VagrantImport

/// The translation alone: recordings as the recorder writes them (JSON) → Machinefile
/// text and the report, no Ruby.
@Suite struct TranslationTests {
  func translate(_ json: String) throws -> ImportResult {
    try VagrantTranslation.translate(
      recordingJSON: Data(json.utf8), fileName: "Vagrantfile", environment: testEnvironment())
  }

  /// `define "nodeN"` with its hostname, address and ansible groups, for N in `numbers`.
  func nodes(_ numbers: ClosedRange<Int>, memory: (Int) -> Int = { _ in 1024 }) -> String {
    numbers.map { n in
      #"""
      {"call": "define", "args": ["node\#(n)"], "line": 4, "machine": {"events": [], "children": {"vm": {"events": [
        {"set": "hostname", "value": "node\#(n)", "line": 5},
        {"call": "network", "args": ["private_network"], "options": {"hash": [["ip", "10.0.0.\#(10 + n)"]]}, "line": 6},
        {"call": "provider", "args": ["libvirt"], "line": 7, "block": {"events": [{"set": "memory", "value": \#(memory(n)), "line": 8}]}},
        {"call": "provision", "args": ["ansible"], "line": 9, "block": {"events": [
          {"set": "playbook", "value": "site.yml", "line": 10},
          {"set": "groups", "value": {"hash": [["web", ["node1", "node2"]], ["all:vars", {"hash": [["tier", "front"]]}]]}, "line": 11},
          {"set": "host_vars", "value": {"hash": [["node3", {"hash": [["role", "db"]]}]]}, "line": 12}]}}]}}}}
      """#
    }.joined(separator: ",\n")
  }

  func recording(_ defines: String, env: String = "[]") -> String {
    #"""
    {"root": {"events": [], "children": {"vm": {"events": [{"set": "box", "value": "generic/debian12", "line": 2}, \#(defines)]}}},
     "env": \#(env), "commands": [], "plugins": []}
    """#
  }

  @Test func numberedMachinesThatDifferOnlyByTheirNumberBecomeOneCountBlock() throws {
    let result = try translate(recording(nodes(1...3)))
    #expect(result.dropped.isEmpty)
    #expect(result.machines == ["node-1", "node-2", "node-3"])
    #expect(result.machinefile.contains("\nmachine \"node\", count: 3 {\n  box \"generic/debian12\"\n"))
    #expect(result.machinefile.contains("\n  hostname \"node${index}\"\n"))
    #expect(result.machinefile.contains("network private, ip: \"10.0.0.11\""))
    // The ansible groups and host_vars name the machines by their new names.
    #expect(result.machinefile.contains("groups: {web: [\"node-1\", \"node-2\"], \"all:vars\": {tier: \"front\"}}"))
    #expect(result.machinefile.contains("host_vars: {node-3: {role: \"db\"}}"))
    #expect(
      result.notes.map { "\($0.line): \($0.what), \($0.why)" } == [
        "4: machines node1…node3, written as machine \"node\", count: 3 (named node-1…node-3)"
      ])
    #expect(result.machinefile.contains("# Vagrantfile:4: machines node1…node3, written as machine \"node\", count: 3"))
    let spec = try Machinefile.load(source: result.machinefile, fileName: "Machinefile", environment: [:])
    #expect(spec.machines.map { $0.hostname } == ["node1", "node2", "node3"])
  }

  @Test func machinesThatDifferOtherwiseKeepTheirOwnBlocks() throws {
    let result = try translate(recording(nodes(1...3, memory: { $0 == 2 ? 2048 : 1024 })))
    #expect(result.machines == ["node1", "node2", "node3"])
    #expect(result.machinefile.contains("machine \"node2\" {\n  memory 2GiB\n"))
    #expect(!result.machinefile.contains("count:"))
    // Settings every machine has alike are written once, at the top level.
    #expect(result.machinefile.contains("\nbox \"generic/debian12\"\nsync \".\" -> \"/vagrant\"\n"))
  }

  @Test func anIPv6PrivateNetworkIsWrittenWithItsPrefix() throws {
    var reader = ScopeReader(topLevel: true)
    let event = try JSONDecoder().decode(
      ConfigEvent.self,
      from: Data(
        #"{"call": "network", "args": ["private_network"], "options": {"hash": [["ip", "fd00::11"], ["netmask", 64]]}, "line": 3}"#
          .utf8))
    reader.readNetwork(event)
    #expect(
      reader.settings.map { Render.statement($0, indent: "") } == ["network private, ip: \"fd00::11\", prefix: 64\n"])
  }

  /// k3s's dual-stack style: an IPv4 and an IPv6 private network per machine come through
  /// whole, and the Machinefile they make validates (one dual-stack network).
  @Test func aDualStackMachineTranslatesWhole() throws {
    let define = #"""
      {"call": "define", "args": ["server"], "line": 4, "machine": {"events": [], "children": {"vm": {"events": [
        {"call": "network", "args": ["private_network"], "options": {"hash": [["ip", "10.10.10.100"], ["netmask", "255.255.255.0"]]}, "line": 5},
        {"call": "network", "args": ["private_network"], "options": {"hash": [["ip", "fd11:decf:c0ff:ee::100"], ["netmask", "64"]]}, "line": 6}]}}}}
      """#
    let result = try translate(recording(define))
    #expect(result.dropped.isEmpty, "\(result.dropped)")
    #expect(
      result.machinefile.contains("network private, ip: \"fd11:decf:c0ff:ee::100\", prefix: 64"),
      "\(result.machinefile)")
    let spec = try Machinefile.load(source: result.machinefile, fileName: "Machinefile", environment: [:])
    #expect(spec.machines.first?.networks.count == 2)
  }

  @Test func environmentReadsBecomeVariables() throws {
    let env = #"""
      [{"name": "BOX", "how": "fetch", "value": null, "default": "generic/debian12", "line": 1},
       {"name": "WORKERS", "how": "[]", "value": "3", "line": 2},
       {"name": "DEBUG", "how": "key?", "value": null, "line": 3}]
      """#
    let result = try translate(recording(nodes(1...3), env: env))
    #expect(result.machinefile.contains("var BOX, default: \"generic/debian12\"\nvar WORKERS, default: \"3\"\n"))
    #expect(result.machinefile.contains("box \"${BOX}\""))
    #expect(result.machinefile.contains("machine \"node\", count: \"${WORKERS}\" {"))
    #expect(droppedLines(result) == ["3: ENV.key?(\"DEBUG\")"])
  }

  @Test func scriptBodiesAreWrittenVerbatim() throws {
    let script = "echo \"${HOME}\" $$ \\\n  | tee /tmp/out\nprintf 'a\\tb\\n'\n"
    let json = #"""
      {"root": {"children": {"vm": {"events": [
        {"call": "provision", "args": ["shell"], "options": {"hash": [["inline", \#(try jsonString(script))]]}, "line": 3}]}}}}
      """#
    let result = try translate(json)
    #expect(result.machinefile.contains("provision shell, inline: \"\"\"\n  echo \"${HOME}\" $$ \\\n"))
    let spec = try Machinefile.load(source: result.machinefile, fileName: "Machinefile", environment: [:])
    guard case .shell(let shell)? = spec.machines.first?.provisioners.first?.kind else {
      Issue.record("no shell provisioner in \(result.machinefile)")
      return
    }
    #expect(shell.inline == String(script.dropLast()))
  }

  @Test func whatHasNoMachinefileFormIsReportedAtItsLine() throws {
    let json = #"""
      {"root": {"children": {
        "hostmanager": {"events": [{"set": "enabled", "value": true, "line": 3}]},
        "vm": {"events": [
          {"set": "box", "value": "generic/debian12", "line": 2},
          {"set": "usable_port_range", "value": {"ruby": "2200..2250"}, "line": 4},
          {"call": "synced_folder", "args": [".", "/vagrant"], "options": {"hash": [["disabled", true]]}, "line": 5},
          {"call": "synced_folder", "args": ["home", "/home/vagrant"], "line": 6},
          {"call": "provision", "args": ["salt"], "line": 7}]}}},
       "commands": [{"line": 1, "kind": "`", "command": "hostname -f"}],
       "plugins": [{"name": "vagrant-vbguest", "line": 8}]}
      """#
    let result = try translate(json)
    #expect(
      droppedLines(result) == [
        "1: host command `hostname -f`", "3: config.hostmanager.enabled", "4: config.vm.usable_port_range",
        "6: sync \"home\" -> \"/home/vagrant\"", "7: provisioner salt", "8: Vagrant.has_plugin?(\"vagrant-vbguest\")",
      ])
    let refused = try #require(result.dropped.first { $0.line == 6 })
    #expect(refused.why.hasPrefix("Caravan's validator refuses it: the destination of 'sync' \"/home/vagrant\""))
    // The implicit /vagrant folder is disabled, so it is not written.
    let body = try #require(result.machinefile.components(separatedBy: "version 1\n").last)
    #expect(body == "\nbox \"generic/debian12\"\n")
    #expect(
      result.machinefile.hasPrefix("# Machinefile written by `caravan init --from Vagrantfile` from Vagrantfile.\n"))
    #expect(
      result.machinefile.contains(
        "# Vagrantfile:3: config.hostmanager.enabled, a setting of the Vagrant plugin vagrant-hostmanager"))
  }

  @Test func aRecordingOfARaiseIsTheErrorWithRubysMessageAndLine() throws {
    let json =
      #"{"error": {"class": "SyntaxError", "message": "/p/Vagrantfile:4: syntax error, unexpected end-of-input", "line": 4}}"#
    let error = try #require(throws: CaravanError.self) { try translate(json) }
    #expect(
      error.message
        == "Vagrantfile:4: evaluating the Vagrantfile raised SyntaxError: syntax error, unexpected end-of-input")
  }
}

func jsonString(_ text: String) throws -> String {
  String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
}
