import Boxes
import Core
import Foundation
import Spec
import Support
import Testing

@testable import LibvirtDriver

/// A machine's devices beyond the box's disks in its domain XML: volumes with their
/// serials, the seed CD-ROM, UEFI with and without Secure Boot, the TPM, a display.
struct DeviceDomainTests {
  static func plan(_ devices: MachineDevices, machineType: String? = nil) -> MachinePlan {
    var plan = MachinePlan(
      domainName: "caravan-hello-web-1a2b3c", projectRoot: "/home/dev/hello", machineName: "web", cpus: 1,
      memoryMiB: 512,
      box: InstalledBox(
        name: "debian/12", version: "0", directory: "/nonexistent",
        metadata: BoxMetadata(provider: "libvirt", format: "qcow2", virtualSizeGB: 2, disks: ["box.img"])),
      forwards: [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: 2222, guest: 22)], accelerator: .tcg,
      network: .userMode(restricted: false), machineType: machineType)
    plan.devices = devices
    return plan
  }

  static func volumes() -> [VolumeSpec] {
    var data = VolumeSpec(name: "data", sizeBytes: 1 << 30)
    data.keep = true
    var scratch = VolumeSpec(name: "scratch", sizeBytes: 1 << 30)
    scratch.bus = .scsi
    var logs = VolumeSpec(name: "logs", sizeBytes: 1 << 30)
    logs.bus = .sata
    return [data, scratch, VolumeSpec(name: "cache", sizeBytes: 1 << 30), logs]
  }

  @Test func volumesTakeTheirBusesNamesInFileOrderAndTheSeedComesLast() {
    let plan = DeviceDomainTests.plan(MachineDevices(volumes: DeviceDomainTests.volumes(), seed: Data("iso".utf8)))
    let disks = LibvirtHypervisor.deviceDisks(plan, pool: "caravan", boxDisks: 1)
    #expect(disks.map(\.target) == ["vdb", "sda", "vdc", "sdb", "sdc"])
    #expect(disks.map(\.bus) == ["virtio", "scsi", "virtio", "sata", "scsi"], "the seed on virtio-scsi")
    #expect(disks[0].volume == "caravan-hello-web-1a2b3c-volume-data.qcow2" && disks[0].serial == "caravan-data")
    #expect(disks.last?.volume == "caravan-hello-web-1a2b3c-cidata.iso" && disks.last?.cdrom == true)
    let two = LibvirtHypervisor.deviceDisks(plan, pool: "caravan", boxDisks: 2)
    #expect(two.map(\.target) == ["vdc", "sda", "vdd", "sdb", "sdc"], "after a box's two disks")
    #expect(LibvirtHypervisor.volumeSerial("a-very-long-volume-name") == "caravan-a-very-long-", "20 characters")
  }

  @Test func theDomainWithEveryDeviceIsAcceptedByLibvirtsSchema() throws {
    let plan = DeviceDomainTests.plan(
      MachineDevices(
        volumes: DeviceDomainTests.volumes(), seed: Data("iso".utf8), secureBoot: true, tpm: true,
        graphics: .spice))
    #expect(LibvirtHypervisor.machineType(plan) == "q35", "Secure Boot needs SMM, which q35 has")
    var definition = DomainDefinitionTests.sample()
    definition.machineType = LibvirtHypervisor.machineType(plan)
    definition.disks += LibvirtHypervisor.deviceDisks(plan, pool: "caravan", boxDisks: 1)
    definition.uefi = plan.devices.firmware == .uefi
    definition.secureBoot = plan.devices.secureBoot
    definition.tpm = plan.devices.tpm
    definition.display = plan.devices.graphics.rawValue
    let xml = definition.xml
    #expect(xml.contains("<os firmware='efi'>"), "\(xml)")
    #expect(xml.contains("<feature enabled='yes' name='secure-boot'/>") && xml.contains("<loader secure='yes'/>"))
    #expect(xml.contains("<smm state='on'/>"))
    #expect(xml.contains("<serial>caravan-data</serial>"))
    #expect(xml.contains("<controller type='scsi' model='virtio-scsi'/>"))
    #expect(xml.contains("<disk type='volume' device='cdrom'>") && xml.contains("<readonly/>"))
    #expect(xml.contains("<tpm model='tpm-crb'>") && xml.contains("<backend type='emulator' version='2.0'/>"))
    #expect(xml.contains("<graphics type='spice' autoport='yes'>") && xml.contains("address='127.0.0.1'"))
    try DeviceDomainTests.validate(xml)

    definition.secureBoot = false
    definition.tpm = false
    definition.display = nil
    let plain = definition.xml
    #expect(plain.contains("<feature enabled='no' name='secure-boot'/>") && !plain.contains("<loader"))
    #expect(!plain.contains("<smm") && !plain.contains("<tpm") && !plain.contains("<graphics"))
    try DeviceDomainTests.validate(plain)
  }

  @Test func biosIsTheDefaultAndAddsNothing() {
    let xml = DomainDefinitionTests.sample().xml
    #expect(!xml.contains("firmware=") && !xml.contains("cdrom") && !xml.contains("<tpm"))
  }

  @Test func aDiskSmallerThanTheBoxsIsRefusedNamingBoth() throws {
    let small = DeviceDomainTests.plan(MachineDevices(rootDiskBytes: 1 << 30))
    let error = try #require(throws: CaravanError.self) {
      try LibvirtHypervisor.rootCapacity(small, boxCapacity: 2 << 30)
    }
    #expect(error.message.contains("`disk 1GiB`") && error.message.contains("(2GiB)"), "\(error.message)")
    let large = DeviceDomainTests.plan(MachineDevices(rootDiskBytes: 8 << 30))
    #expect(try LibvirtHypervisor.rootCapacity(large, boxCapacity: 2 << 30) == 8 << 30)
    #expect(try LibvirtHypervisor.rootCapacity(DeviceDomainTests.plan(MachineDevices()), boxCapacity: 5) == 5)
  }

  @Test func removeKnowsTheMachinesVolumesByName() {
    let domain = "caravan-hello-web-1a2b3c"
    #expect(LibvirtHypervisor.machineVolume(domain + ".qcow2", of: domain) == (true, nil))
    #expect(LibvirtHypervisor.machineVolume(domain + "-disk2.qcow2", of: domain) == (true, nil))
    #expect(LibvirtHypervisor.machineVolume(domain + "-cidata.iso", of: domain) == (true, nil))
    #expect(LibvirtHypervisor.machineVolume(domain + "-volume-data.qcow2", of: domain) == (true, "data"))
    #expect(LibvirtHypervisor.machineVolume("caravan-hello-db-1a2b3c.qcow2", of: domain) == (false, nil))
    #expect(LibvirtHypervisor.machineVolume("caravan-box_debian-12_0.img", of: domain) == (false, nil))
  }

  static func validate(_ xml: String) throws {
    let path = NSTemporaryDirectory() + "caravan-domain-devices-\(getpid()).xml"
    try xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }
}

struct DisplayPortTests {
  @Test func displaysAreReadFromTheLiveXMLWithTheirPorts() {
    let xml = """
      <domain type='qemu'><devices>
        <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
          <listen type='address' address='127.0.0.1'/>
        </graphics>
        <graphics type='spice' port='-1' autoport='yes'/>
      </devices></domain>
      """
    let displays = LibvirtHypervisor.displays(inDomainXML: xml)
    #expect(displays == [Display(type: "vnc", hostIP: "127.0.0.1", port: 5901)], "a port of -1 is not one yet")
    #expect(displays.first?.url == "vnc://127.0.0.1:5901")
    #expect(LibvirtHypervisor.displays(inDomainXML: DomainDefinitionTests.sample().xml).isEmpty)
  }
}
