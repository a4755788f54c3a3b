import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

/// `check` with `--var` values, var files (`--var-file`, then `Machinefile.vars`) and an environment.
private func check(
  _ source: String, given: [(name: String, value: String)] = [], files: [String] = [], vars: String? = nil,
  environment: [String: String] = [:]
) -> (spec: ProjectSpec?, diagnostics: [Diagnostic]) {
  var layers = [VariableLayer.given(given)]
  for (number, text) in files.enumerated().reversed() {
    layers.append(VariableLayer.parse(text, source: "--var-file f\(number).vars", file: "f\(number).vars"))
  }
  if let vars { layers.append(VariableLayer.parse(vars, source: "Machinefile.vars", file: "Machinefile.vars")) }
  return Machinefile.check(source: source, fileName: "Machinefile", environment: environment, layers: layers)
}

private func value(_ result: (spec: ProjectSpec?, diagnostics: [Diagnostic]), _ name: String) -> Variable? {
  result.spec?.variables.first { $0.name == name }
}

@Suite struct VariablesTests {
  let source = "var v, default: \"d\"\nhostname \"h-${v}\"\n"

  @Test func precedenceVarThenVarFileThenMachinefileVarsThenEnvironmentThenDefault() throws {
    let all = check(
      source, given: [("v", "cli")], files: ["v=file"], vars: "v=beside", environment: ["v": "env"])
    #expect(value(all, "v") == Variable(name: "v", value: "cli", source: "--var"))
    #expect(all.spec?.machines[0].hostname == "h-cli")
    let file = check(source, files: ["v=first", "\nv=last"], vars: "v=beside", environment: ["v": "env"])
    #expect(value(file, "v") == Variable(name: "v", value: "last", source: "--var-file f1.vars:2"))
    let beside = check(source, vars: "# comment\nv = beside ", environment: ["v": "env"])
    #expect(value(beside, "v") == Variable(name: "v", value: "beside", source: "Machinefile.vars:2"))
    #expect(value(check(source, environment: ["v": "env"]), "v")?.source == "environment")
    #expect(value(check(source), "v") == Variable(name: "v", value: "d", source: "default"))
  }

  @Test func aLaterVarWinsAndUndeclaredNamesStillReadTheEnvironment() throws {
    let result = check(
      "var v\nhostname \"${v}-${HOST_PART}\"", given: [("v", "a"), ("v", "b")], environment: ["HOST_PART": "x"])
    #expect(result.spec?.machines[0].hostname == "b-x")
  }

  @Test func aVarNamingNoDeclaredVariableIsAnError() {
    let result = check("var workers, default: 1", given: [("wrokers", "3")])
    #expect(result.spec == nil)
    #expect(
      result.diagnostics.map(\.rendered) == [
        "Machinefile: error: --var wrokers sets no `var` of the Machinefile; did you mean 'workers'?"
      ])
  }

  @Test func varFileProblemsAreReportedAtTheirLine() {
    let result = check("var workers, default: 1", vars: "workers=2\n  wrokers=5\nnot a pair\n")
    #expect(
      result.diagnostics.map(\.rendered) == [
        "Machinefile.vars:2:3: error: 'wrokers' sets no `var` of the Machinefile; did you mean 'workers'?\n  wrokers=5\n  ^~~~~~~",
        "Machinefile.vars:3:1: error: expected NAME=VALUE, got 'not a pair'\nnot a pair\n^~~~~~~~~~",
      ])
  }

  @Test func aVarWithNoValueIsAnErrorAtItsPlace() {
    let result = check("var region\nhostname \"${region}\"")
    #expect(result.diagnostics.first?.location == SourceLocation(line: 1, column: 1))
    #expect(
      result.diagnostics.first?.message.hasPrefix("var 'region' has no value: give it one with `--var region=VALUE`")
        == true)
  }

  @Test func varIsTopLevelOnly() {
    let result = check("machine \"m\" {\n  var x, default: 1\n}")
    #expect(
      result.diagnostics.map(\.message) == ["'var' is only allowed at top level; move it out of the machine block"])
  }

  @Test func varFilesAreReadFromDisk() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("caravan-vars-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    let machinefile = root.appendingPathComponent("Machinefile").path
    try "var a, default: \"x\"\nvar b, default: \"y\"\nhostname \"${a}-${b}\"\n".write(
      toFile: machinefile, atomically: true, encoding: .utf8)
    try "a=beside\nb=beside\n".write(
      toFile: root.appendingPathComponent("Machinefile.vars").path, atomically: true, encoding: .utf8)
    let extra = root.appendingPathComponent("prod.vars").path
    try "b=prod\n".write(toFile: extra, atomically: true, encoding: .utf8)
    let spec = try Machinefile.load(
      path: machinefile, shownAs: "Machinefile", environment: [:], variables: VariableInput(files: [extra]))
    #expect(spec.machines[0].hostname == "beside-prod")
    #expect(spec.variables.map(\.source) == ["Machinefile.vars:1", "--var-file \(extra):1"])
    #expect(throws: MachinefileError.self) {
      _ = try Machinefile.load(
        path: machinefile, environment: [:], variables: VariableInput(files: [root.path + "/missing.vars"]))
    }
  }
}

/// Strings where numbers, sizes, durations and booleans are expected, and `count:`/`first:`.
@Suite struct TypedStringTests {
  @Test func stringsAreReadAsTheTypeExpected() throws {
    let result = check(
      """
      var workers, default: 3
      memory "${mem:-2GiB}"
      cpus "${n}"
      boot_timeout "${t:-90s}"
      machine "w", count: "${workers}", autostart: "${auto:-false}" {}
      """, given: [], environment: ["n": "4"])
    let spec = try #require(result.spec, "\(result.diagnostics)")
    #expect(spec.machines.map(\.name) == ["w-1", "w-2", "w-3"])
    #expect(spec.machines.allSatisfy { $0.cpus == 4 && $0.memoryBytes == 2 << 30 && !$0.autostart })
    #expect(spec.machines[0].bootTimeoutSeconds == 90)
  }

  @Test func aWrongValueNamesTheVariableAndItsValueAtTheStringsPlace() {
    let result = check("var n, default: \"two\"\ncpus \"${n}\"", given: [("n", "0")])
    #expect(
      result.diagnostics.map(\.rendered) == [
        "Machinefile:2:6: error: 'cpus' must be between 1 and 1024, got 0; ${n} is \"0\" (from --var)\ncpus \"${n}\"\n     ^~~~~~"
      ])
    let typo = check("memory \"${mem:-lots}\"").diagnostics.map(\.message)
    #expect(typo.count == 1)
    #expect(typo.first?.hasSuffix("; ${mem} is unset, so \"lots\" (its fallback)") == true, "\(typo)")
  }

  @Test func aChoiceMayComeFromAVariable() throws {
    let chosen = check("var accel, default: \"kvm\"\nlibvirt {\n  accel \"${accel}\"\n}", given: [("accel", "tcg")])
    #expect(try #require(chosen.spec, "\(chosen.diagnostics)").machines.first?.libvirt.accel == .tcg)
    let typo = check("var accel, default: \"kvm\"\nlibvirt {\n  accel \"${accel}\"\n}", given: [("accel", "tgc")])
    #expect(
      typo.diagnostics.map(\.message) == [
        "unknown value 'tgc' for 'accel' of 'libvirt'; did you mean 'tcg'?; ${accel} is \"tgc\" (from --var)"
      ])
    let ranged = check("machine \"n\", count: 2 {\n  network private, ip: \"fd00:20::fe\", prefix: \"${p:-120}\"\n}")
    #expect(
      try #require(ranged.spec, "\(ranged.diagnostics)").machines.map(\.networks) == [
        [.privateNetwork(ip: "fd00:20::fe", netmask: nil, prefix: 120)],
        [.privateNetwork(ip: "fd00:20::ff", netmask: nil, prefix: 120)],
      ])
    let leaving = check("machine \"n\", count: 3 {\n  network private, ip: \"fd00:20::fe\", prefix: \"${p:-120}\"\n}")
    #expect(
      leaving.diagnostics.map(\.message).first?.contains(
        "machine \"n-3\" would get fd00:20::100, outside the subnet fd00:20::/120") == true, "\(leaving.diagnostics)")
  }

  @Test func firstNumbersTheInstancesAndAddressesCountUp() throws {
    let result = check(
      "machine \"mon\", count: 3, first: 0 {\n  hostname \"h${index}\"\n  network private, ip: \"10.20.0.100\"\n}")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    #expect(spec.machines.map(\.name) == ["mon-0", "mon-1", "mon-2"])
    #expect(spec.machines.map(\.hostname) == ["h0", "h1", "h2"])
    #expect(
      spec.machines.map(\.networks)
        == ["100", "101", "102"].map { [.privateNetwork(ip: "10.20.0.\($0)", netmask: nil)] })
  }

  @Test func anAddressRangeLeavingTheSubnetIsRefusedByName() {
    let result = check("machine \"n\", count: 3 {\n  network private, ip: \"10.20.0.253\"\n}")
    #expect(result.diagnostics.count == 1)
    #expect(result.diagnostics.first?.location == SourceLocation(line: 2, column: 24))
    #expect(result.diagnostics.first?.message.contains("machine \"n-3\" would get 10.20.0.255") == true)
  }
}

@Suite struct ExampleTests {
  /// Every `examples/*/Machinefile` is valid, read as commands read it (with its Machinefile.vars).
  @Test func examplesAreValid() throws {
    let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("examples")
    let folders = try FileManager.default.contentsOfDirectory(atPath: examples.path)
    #expect(folders.contains("cluster"))
    for folder in folders {
      let path = examples.appendingPathComponent(folder).appendingPathComponent("Machinefile").path
      let (spec, diagnostics) = try Machinefile.check(path: path, shownAs: "\(folder)/Machinefile", environment: [:])
      #expect(spec != nil, "\(diagnostics.map(\.rendered))")
    }
    let cluster = try Machinefile.load(
      path: examples.appendingPathComponent("cluster/Machinefile").path, environment: [:])
    #expect(cluster.machines.map(\.name) == ["control", "worker-1", "worker-2", "worker-3"])
  }
}
