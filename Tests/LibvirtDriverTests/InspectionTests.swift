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
}
