import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

private func messages(_ source: String, _ environment: [String: String] = [:]) -> [String] {
  Machinefile.check(source: source, fileName: "Machinefile", environment: environment).diagnostics.map(\.message)
}

@Suite struct ValidatorTests {
  @Test func messagesFromTheSpec() {
    #expect(
      messages("machine \"web\" {\n  memroy 2GiB\n}")
        == ["unknown setting 'memroy' in machine \"web\"; did you mean 'memory'?"])
    #expect(messages("cpus 0") == ["'cpus' must be between 1 and 1024, got 0"])
  }

  @Test func versionTwoIsRefusedByNameAndAlone() {
    #expect(
      messages("version 2\nmemroy 1\nwhatever 3")
        == ["this caravan reads Machinefile version 1; upgrade caravan to read this version 2 Machinefile"])
    #expect(messages("version 1\ncpus 2").isEmpty)
    #expect(messages("version 0") == ["Machinefile version 0 does not exist; write version 1"])
  }

  @Test func didYouMeanIsLimitedToSettingsValidInThatPlace() {
    // `version` is not valid in a machine, so `versio` there gets no suggestion of it.
    #expect(messages("machine \"a\" {\n  versio 1\n}") == ["unknown setting 'versio' in machine \"a\""])
    #expect(messages("versio 1") == ["unknown setting 'versio' at top level; did you mean 'version'?"])
    #expect(messages("machin \"a\" {}") == ["unknown setting 'machin' at top level; did you mean 'machine'?"])
  }

  @Test func validatorCollectsAllProblems() {
    let found = messages(
      """
      cpus 0
      memory 1MiB
      disk 20
      machine "a", primary: true {}
      machine "b", primary: true {}
      machine "a" {}
      """)
    #expect(found.count == 5)
  }

  @Test func duplicateMachineNamesAfterCountExpansion() {
    #expect(
      messages("machine \"n-2\" {}\nmachine \"n\", count: 2 {}")
        == [
          "duplicate machine name 'n-2' (from machine \"n\" with count: 2): a machine with this name is already defined at 1:1; rename one of them"
        ])
  }

  @Test func countZeroDefinesNoMachineAndSaysSo() throws {
    let (spec, diagnostics) = Machinefile.check(
      source: "machine \"w\", count: 0 {}\nmachine \"db\" {}", fileName: "Machinefile", environment: [:])
    #expect(try #require(spec).machines.map(\.name) == ["db"])
    #expect(diagnostics.map(\.severity) == [.note])
    #expect(diagnostics.first?.rendered.hasPrefix("Machinefile:1:21: note: machine \"w\" has count: 0") == true)
    #expect(messages("machine \"w\", count: -1 {}") == ["'count:' of machine \"w\" must be 0 or more, got -1"])
  }

  @Test func perCopyChecksReportTheFirstFailingCopy() {
    #expect(
      messages("machine \"w\", count: 3 {\n  hostname \"${name}_x\"\n}")
        == ["hostname 'w-1_x' is not a valid RFC 1123 host name: '_' is not allowed; use letters, digits and '-'"])
  }

  @Test func valueChecks() {
    #expect(ValueChecks.hostname("web-1.example.com") == nil)
    #expect(ValueChecks.hostname(String(repeating: "a.", count: 127) + "a") != nil)
    #expect(ValueChecks.problem { _ = try VersionConstraint(parsing: "~> 12.0, >= 12.1,<13, 1.2.3, =1") } == nil)
    #expect(ValueChecks.problem { _ = try VersionConstraint(parsing: "~> 12.x") } != nil)
    #expect(ValueChecks.problem { _ = try Checksum(parsing: "sha1:" + String(repeating: "a", count: 40)) } == nil)
    #expect(ValueChecks.problem { _ = try Checksum(parsing: "sha512:" + String(repeating: "F", count: 128)) } == nil)
    #expect(ValueChecks.problem { _ = try Checksum(parsing: "sha384:" + String(repeating: "0", count: 95)) } != nil)
    #expect(
      ValueChecks.netmask("255.255.255.0") && ValueChecks.netmask("0.0.0.0") && !ValueChecks.netmask("255.0.255.0"))
    #expect(ValueChecks.ipAddress("::1") && ValueChecks.ipAddress("fe80::1") && !ValueChecks.ipAddress("1.2.3"))
    #expect(ValueChecks.libvirtURI("qemu:///session") && !ValueChecks.libvirtURI("qemu"))
  }

  /// The whole of a 1,000-machine file must parse, validate and lower quickly (well under
  /// 50 ms in a release build; this bound leaves room for debug builds and busy machines).
  @Test func thousandMachinesAreFast() throws {
    var source =
      "box \"caravan/debian-12\", version: \"~> 12.0\"\nmemory 1GiB\nprovision shell, inline: \"echo ${HOME:-x}\"\n"
    for index in 1...1_000 {
      source += """
        machine "m\(index)" {
          cpus 2
          hostname "m\(index).local"
          forward \(10_000 + index) -> 80
          sync "./app" -> "/srv/app", exclude: [".git"]
          provision shell, inline: \"\"\"
            echo ${name} ${index}
            \"\"\"
          ssh { user "ops" }
        }

        """
    }
    let start = Date()
    let spec = try Machinefile.load(source: source, fileName: "Machinefile", environment: [:])
    let elapsed = Date().timeIntervalSince(start)
    #expect(spec.machines.count == 1_000)
    #expect(spec.machines[999].forwards[0].host == 11_000)
    // Only a guard against a blow-up (quadratic lookups take minutes here); bench/parse.sh measures the speed.
    #expect(elapsed < 20, "took \(elapsed) s")
  }
}
