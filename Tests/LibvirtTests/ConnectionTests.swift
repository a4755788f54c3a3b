import Support
import Testing

@testable import Libvirt

/// The wrapper against libvirt's `test:///default` driver: a real driver that
/// needs no daemon, with one running domain "test" and a pool "default-pool".
struct ConnectionTests {
  @Test func listsAndLooksUpDomains() throws {
    let connection = try Connection(uri: "test:///default")
    // test:///default is one shared instance per process: other tests' domains may be there too.
    let domains = try connection.allDomains()
    #expect(domains.map(\.name).contains("test"))
    let test = try #require(try connection.domain(named: "test"))
    #expect(try test.state() == .running)
    #expect(try test.uuid().count == 36)
    #expect(try connection.domain(named: "absent") == nil)
  }

  @Test func lifecycleOfADefinedDomain() throws {
    let connection = try Connection(uri: "test:///default")
    let xml = """
      <domain type='test'>
        <name>caravan-unit</name>
        <memory unit='MiB'>64</memory>
        <os><type>hvm</type></os>
        <metadata><c:machine xmlns:c='https://caravan.dev/xmlns/machine/1'><c:project>/p</c:project></c:machine></metadata>
      </domain>
      """
    let domain = try connection.defineDomain(xml: xml, name: "caravan-unit")
    #expect(try domain.state() == .shutoff)
    try domain.start()
    #expect(try domain.state() == .running)
    let metadata = try #require(try domain.metadata(namespace: "https://caravan.dev/xmlns/machine/1"))
    #expect(metadata.contains("/p"))
    #expect(try domain.metadata(namespace: "https://other.example/ns") == nil)
    try domain.destroy()
    #expect(try domain.state() == .shutoff)
    // Powering off a domain that is already off (a race with another client) is not an error.
    try domain.destroy()
    #expect(try domain.state() == .shutoff)
    try domain.undefine()
    #expect(try connection.domain(named: "caravan-unit") == nil)
  }

  @Test func errorsCarryTheOperationAndLibvirtsText() throws {
    let connection = try Connection(uri: "test:///default")
    let domain = try #require(try connection.domain(named: "test"))
    // Starting a running domain is refused by libvirt.
    let thrown = try #require(throws: CaravanError.self) { try domain.start() }
    #expect(thrown.kind == .hypervisor)
    #expect(thrown.message.hasPrefix("libvirt could not start domain 'test': "))
    let error = try #require(thrown.cause as? LibvirtError)
    #expect(error.operation == "start domain 'test'")
    #expect(error.message.contains("already running"))
    #expect(!error.isNotFound)
  }

  @Test func unreachableURIIsAConnectionError() throws {
    let thrown = try #require(throws: CaravanError.self) {
      try Connection(uri: "qemu:///system?socket=/nonexistent/sock")
    }
    #expect(thrown.message.contains("cannot connect to libvirt at 'qemu:///system?socket=/nonexistent/sock'"))
    let error = try #require(thrown.cause as? LibvirtError)
    #expect(error.operation.contains("qemu:///system?socket=/nonexistent/sock"))
    #expect(error.message.contains("/nonexistent/sock"))
  }

  @Test func poolsAndVolumes() throws {
    let connection = try Connection(uri: "test:///default")
    let pool = try #require(try connection.pool(named: "default-pool"))
    #expect(try pool.isActive())
    let volume = try pool.createVolume(
      xml: "<volume><name>unit.img</name><capacity unit='MiB'>10</capacity></volume>", name: "unit.img")
    #expect(try volume.info().capacity == 10 << 20)
    #expect(try pool.volumes().map(\.name).contains("unit.img"))
    try volume.delete()
    #expect(try pool.volume(named: "unit.img") == nil)
    #expect(try connection.pool(named: "no-such-pool") == nil)
  }
}
