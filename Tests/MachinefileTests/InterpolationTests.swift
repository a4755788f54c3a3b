import Spec
import Support
import Testing

@testable import Machinefile

private func load(_ source: String, _ environment: [String: String] = [:]) throws -> ProjectSpec {
  try Machinefile.load(source: source, fileName: "Machinefile", environment: environment)
}

private func messages(_ source: String, _ environment: [String: String] = [:]) -> [String] {
  Machinefile.check(source: source, fileName: "Machinefile", environment: environment).diagnostics.map(\.message)
}

@Suite struct InterpolationTests {
  @Test func environmentVariables() throws {
    let spec = try load("hostname \"${HOST}\"", ["HOST": "from-env"])
    #expect(spec.machines[0].hostname == "from-env")
  }

  @Test func fallbackUsedWhenUnsetOrEmpty() throws {
    #expect(try load("hostname \"${HOST:-fallback}\"").machines[0].hostname == "fallback")
    #expect(try load("hostname \"${HOST:-fallback}\"", ["HOST": ""]).machines[0].hostname == "fallback")
    #expect(try load("hostname \"${HOST:-fallback}\"", ["HOST": "set"]).machines[0].hostname == "set")
  }

  @Test func unsetVariableIsAnErrorNamingIt() {
    #expect(
      messages("box \"${BOX_NAME}\"") == [
        "environment variable 'BOX_NAME' is not set; set it or write ${BOX_NAME:-default} to give a default"
      ])
    // Set but empty is set.
    #expect(messages("box \"x${BOX_NAME}\"", ["BOX_NAME": ""]).isEmpty)
  }

  @Test func dollarEscapes() throws {
    let spec = try load(#"provision shell, env: {V: "$$HOME \${HOME} $PATH"}, inline: "true""#, ["HOME": "/root"])
    guard case .shell(let shell) = spec.machines[0].provisioners[0].kind else {
      Issue.record("not shell")
      return
    }
    #expect(shell.env["V"] == "$HOME ${HOME} $PATH")
  }

  @Test func machineVariablesExpandPerCopy() throws {
    let spec = try load(
      "machine \"w\", count: 2 {\n  hostname \"h-${index}\"\n  sync \"./${name}\" -> \"/srv/${index}\"\n}")
    #expect(spec.machines.map(\.hostname) == ["h-1", "h-2"])
    #expect(spec.machines.map { $0.syncs[0].source } == ["./w-1", "./w-2"])
    #expect(spec.machines.map { $0.syncs[0].destination } == ["/srv/1", "/srv/2"])
  }

  @Test func machineVariablesInAPlainMachine() throws {
    let spec = try load("machine \"solo\" {\n  hostname \"${name}-${index}\"\n}")
    #expect(spec.machines[0].hostname == "solo-1")
  }

  @Test func machineVariablesOutsideAMachineAreErrors() {
    #expect(
      messages("hostname \"${name}\"") == [
        "'${name}' (the machine's name) is only available inside a machine block, not at top level"
      ])
    #expect(
      messages("ssh { user \"${index}\" }") == [
        "'${index}' (the machine's 1-based index) is only available inside a machine block, not at top level"
      ])
    #expect(messages("machine \"m-${index}\" {}").count == 1)
  }

  @Test func expansionOfTemplates() {
    let literal = StringLiteral(parts: [
      .text("a-"), .environment(name: "E", fallback: nil, location: .init(line: 1, column: 1), length: 4),
      .text("-"), .machineName(location: .init(line: 1, column: 1), length: 7), .text("-"),
      .machineIndex(location: .init(line: 1, column: 1), length: 8),
    ])
    let expansion = Expansion(environment: ["E": "env"], machineName: "web-3", machineIndex: 3)
    #expect(expansion.expand(literal) == "a-env-web-3-3")
  }
}
