import Core
import Foundation
import Testing

@testable import LibvirtDriver

/// What `caravan doctor` asks the driver, on libvirt's `test:///default` driver
/// (a real driver, no daemon): versions, KVM, and the pool as present, inactive
/// or missing.
struct InspectionTests {
  @Test func versionsKVMAndThePoolFromTheTestDriver() throws {
    let hypervisor = try LibvirtHypervisor(uri: "test:///default", lockDirectory: NSTemporaryDirectory())
    let versions = try hypervisor.versions()
    #expect(versions.libvirt >= 9_000_000, "\(versions)")
    #expect(try hypervisor.offersKVM() == false, "the test driver offers only its own domain type")

    guard case .active(let name, let path, let capacity, _) = try hypervisor.storagePool(named: "default-pool") else {
      Issue.record("default-pool should be active")
      return
    }
    #expect(name == "default-pool")
    #expect(path == "/default-pool")
    #expect(capacity > 0)

    let missing = try hypervisor.storagePool(named: nil)
    #expect(missing == .missing(name: "caravan", path: "/var/lib/libvirt/images/caravan"))
  }

  @Test func poolTargetPathFromItsXML() {
    let xml = "<pool type='dir'><name>p</name><source/><target><path>/srv/p</path><permissions/></target></pool>"
    #expect(LibvirtHypervisor.targetPath(inPoolXML: xml) == "/srv/p")
    #expect(LibvirtHypervisor.targetPath(inPoolXML: "<pool/>") == nil)
  }

  /// QEMU's error of the last start only: an earlier start's failure (a port moved
  /// since) is not this one's, and a start without errors says nothing.
  @Test func theStartLogSaysTheLastStartsErrors() {
    let log = """
      2026-12-07 06:31:44.600+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22
      LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=d
      2026-12-07T06:31:44.613334Z qemu-system-x86_64: -netdev user,id=c0,hostfwd=tcp:127.0.0.1:18080-:80: Could not set up host forwarding rule 'tcp:127.0.0.1:18080-:80'
      2026-12-07 06:31:44.700+0000: shutting down, reason=failed
      2026-12-07 06:31:46.600+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22
      LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=d
      """
    #expect(LibvirtHypervisor.lastStartErrors(in: log) == nil)
    let failed =
      log
      + "\n2026-12-07T06:31:46.7Z qemu-system-x86_64: Could not set up host forwarding rule 'tcp:127.0.0.1:2200-:22'\n"
    #expect(LibvirtHypervisor.lastStartErrors(in: failed)?.contains("127.0.0.1:2200-:22") == true)
    #expect(LibvirtHypervisor.lastStartErrors(in: failed)?.contains("18080") == false)
  }
}
