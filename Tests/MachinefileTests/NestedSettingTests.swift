import Spec
import Support
import Testing

@testable import Machinefile

/// `libvirt { nested true }`: a boolean a machine inherits or overrides, recorded as used.
struct NestedSettingTests {
  @Test func nestedIsABooleanMachinesInheritOrOverride() throws {
    let spec = try Machinefile.load(
      source: """
        libvirt { nested true }
        machine "a" {}
        machine "b" {
          libvirt { nested false }
        }
        """, fileName: "Machinefile", environment: [:])
    #expect(spec.machines.map(\.libvirt.nested) == [true, false])
    #expect(spec.machines[0].settingsUsed.map(\.name) == ["libvirt.nested"])
    #expect(
      try Machinefile.load(source: "", fileName: "Machinefile", environment: [:]).machines[0].libvirt.nested == false)
  }

  @Test func aNonBooleanIsAnError() {
    let found = Machinefile.check(source: "libvirt { nested yes }", fileName: "Machinefile", environment: [:])
      .diagnostics.map(\.message)
    #expect(
      found.count == 1 && found[0].contains("'nested' of 'libvirt'") && found[0].contains("true or false"), "\(found)")
  }
}
