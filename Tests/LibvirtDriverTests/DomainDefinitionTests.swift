import Core
import Foundation
import Spec
import Support
import Testing

@testable import LibvirtDriver

struct DomainDefinitionTests {
  static func sample(type: String = "qemu", restrict: Bool = false) -> DomainDefinition {
    DomainDefinition(
      name: "caravan-hello-web-1a2b3c", uuid: nil, type: type, memoryMiB: 1024, vcpus: 2,
      machineType: "pc", cpuMode: type == "kvm" ? "host-passthrough" : nil,
      metadata: .init(
        project: "/home/dev/hello & co", machine: "web", pool: "caravan",
        box: "caravan/debian-12", boxVersion: "0", boxVolume: "caravan-box_caravan-VAGRANTSLASH-debian-12_0.img"),
      disks: [.init(pool: "caravan", volume: "caravan-hello-web-1a2b3c.qcow2", target: "vda", bus: "virtio")],
      consoleLog: "/var/log/libvirt/qemu/caravan-hello-web-1a2b3c-console.log",
      forwards: [
        ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: 2222, guest: 22),
        ResolvedForward(transport: .udp, hostIP: "127.0.0.1", host: 5353, guest: 53),
      ],
      restrictNetwork: restrict)
  }

  static func golden(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Golden/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
  }

  @Test func tcgDomainMatchesTheGoldenFile() throws {
    #expect(DomainDefinitionTests.sample().xml == (try DomainDefinitionTests.golden("domain-tcg.xml")))
  }

  @Test func kvmUsesHostPassthroughAndRestrictIsPassedToQEMU() throws {
    let xml = DomainDefinitionTests.sample(type: "kvm", restrict: true).xml
    #expect(xml.hasPrefix("<domain type='kvm'"))
    #expect(xml.contains("<cpu mode='host-passthrough'/>"))
    #expect(xml.contains("hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:5353-:53,restrict=on"))
  }

  @Test func libvirtsSchemaAcceptsTheDomain() throws {
    let path = NSTemporaryDirectory() + "caravan-domain-\(getpid()).xml"
    try DomainDefinitionTests.sample().xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }

  /// A 9p folder: mapped (guest owners in xattrs) where QEMU is not the caller,
  /// passthrough where it is; never a seclabel making QEMU root. virtiofs: its daemon and
  /// shared memory. libvirt's schema takes them.
  @Test func sharedFoldersAreFilesystemsTheSchemaAccepts() throws {
    var definition = DomainDefinitionTests.sample()
    definition.filesystems = [
      SharedFolder(kind: .ninep, hostPath: "/home/dev/hello & co/data", tag: "caravan-0123456789ab"),
      SharedFolder(kind: .virtiofs(daemon: "/usr/libexec/virtiofsd"), hostPath: "/srv/x", tag: "caravan-ba98"),
    ]
    definition.ninepAccess = .mapped
    let xml = definition.xml
    let ninep = """
          <filesystem type='mount' accessmode='mapped'>
            <driver type='path'/>
            <source dir='/home/dev/hello &amp; co/data'/>
            <target dir='caravan-0123456789ab'/>
          </filesystem>
      """
    #expect(xml.contains(ninep), "\(xml)")
    #expect(
      xml.contains("<filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>"), "\(xml)")
    #expect(xml.contains("<binary path='/usr/libexec/virtiofsd'/>"))
    #expect(xml.contains("<source type='memfd'/>") && xml.contains("<access mode='shared'/>"))
    #expect(!xml.contains("seclabel"), "QEMU keeps libvirt's own user")
    let path = NSTemporaryDirectory() + "caravan-domain-fs-\(getpid()).xml"
    try xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")

    definition.ninepAccess = .passthrough
    #expect(definition.xml.contains("<filesystem type='mount' accessmode='passthrough'>\n      <driver type='path'/>"))
    let plain = DomainDefinitionTests.sample().xml
    #expect(!plain.contains("filesystem") && !plain.contains("seclabel") && !plain.contains("memoryBacking"))
  }

  /// QEMU's user is libvirt's DAC base label; a folder it cannot reach is named with
  /// what stops it (a folder above without search, the folder without write).
  @Test func qemusUserAndWhatItCanReach() throws {
    let capabilities = """
      <secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+64055:+64055</baselabel>
      <baselabel type='qemu'>+64055:+64055</baselabel></secmodel>
      """
    let user = try #require(LibvirtHypervisor.qemuUser(capabilities: capabilities))
    #expect(user.uid == 64055 && user.gid == 64055)
    #expect(LibvirtHypervisor.qemuUser(capabilities: "<secmodel><model>none</model></secmodel>") == nil)

    let root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-access")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let folder = root + "/closed/shared"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    chmod(root, 0o755)
    chmod(root + "/closed", 0o700)
    chmod(folder, 0o755)
    let stranger: uid_t = 64055
    let closed = try #require(FolderAccess.problem(path: folder, uid: stranger, groups: [64055]))
    #expect(closed.hasPrefix("it may not search '\(root)/closed' (mode 700, owner "), "\(closed)")
    chmod(root + "/closed", 0o711)
    let readOnly = try #require(FolderAccess.problem(path: folder, uid: stranger, groups: [64055]))
    #expect(readOnly.hasPrefix("it may not read, write and search the folder (mode 755"), "\(readOnly)")
    chmod(folder, 0o777)
    #expect(FolderAccess.problem(path: folder, uid: stranger, groups: [64055]) == nil)
    chmod(folder, 0o770)
    #expect(FolderAccess.problem(path: folder, uid: stranger, groups: [64055]) != nil)
    #expect(FolderAccess.problem(path: folder, uid: stranger, groups: [64055, getgid()]) == nil, "by its group")
    #expect(FolderAccess.problem(path: folder, uid: getuid(), groups: []) == nil, "its owner")

    // Asked as the user itself (as root, through setpriv): `nobody` may not write a 0755 folder.
    if getuid() == 0 {
      chmod(folder, 0o755)
      #expect(FolderAccess.reachable(folder, uid: 65534, gid: 65534) == false)
      chmod(folder, 0o777)
      #expect(FolderAccess.reachable(folder, uid: 65534, gid: 65534) == true)
      chmod(root + "/closed", 0o700)
      #expect(FolderAccess.reachable(folder, uid: 65534, gid: 65534) == false)
    }
  }

  /// A session connection's QEMU runs as the user: its 9p folders squash owner changes
  /// (passthrough would fail every guest write), virtiofs stays passthrough; no seclabel.
  @Test func aSessionSquashesNinepOwners() throws {
    var definition = DomainDefinitionTests.sample()
    definition.filesystems = [
      SharedFolder(kind: .ninep, hostPath: "/home/dev/data", tag: "caravan-0123456789ab"),
      SharedFolder(kind: .virtiofs(daemon: "/usr/libexec/virtiofsd"), hostPath: "/srv/x", tag: "caravan-ba98"),
    ]
    definition.ninepAccess = .squash
    let xml = definition.xml
    let blocks = xml.components(separatedBy: "<filesystem ").dropFirst()
    #expect(blocks.count == 2)
    #expect(blocks.first?.hasPrefix("type='mount' accessmode='squash'>") == true, "\(xml)")
    #expect(blocks.first?.contains("<driver type='path'/>") == true)
    #expect(blocks.last?.hasPrefix("type='mount' accessmode='passthrough'>") == true, "virtiofs: \(xml)")
    #expect(!xml.contains("seclabel"))
    let path = NSTemporaryDirectory() + "caravan-domain-squash-\(getpid()).xml"
    try xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }

  @Test func metadataIsReadBackFromWhatLibvirtReturns() {
    let returned = """
      <caravan:machine xmlns:caravan="https://caravan.dev/xmlns/machine/1">
        <caravan:project>/home/dev/hello &amp; co</caravan:project>
        <caravan:name>web</caravan:name>
        <caravan:pool>caravan</caravan:pool>
        <caravan:box version="0" volume="v.img">caravan/debian-12</caravan:box>
      </caravan:machine>
      """
    let meta = MetadataReader.parse(returned)
    #expect(meta?.project == "/home/dev/hello & co")
    #expect(meta?.machine == "web")
    #expect(meta?.boxVolume == "v.img")
    #expect(meta?.boxVersion == "0")
    #expect(MetadataReader.parse("<other/>") == nil)
  }

  @Test func acceleratorFallsBackToTCGOnKvmPvmAndWithoutKVM() throws {
    let kvmCaps = "<capabilities><guest><arch><domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>"
    var detector = AcceleratorDetector(capabilities: { kvmCaps }, isLocal: true)
    detector.fileExists = { ["/dev/kvm", "/sys/module/kvm_pvm"].contains($0) }
    let pvm = try detector.choose(.auto)
    #expect(pvm.accelerator == .tcg)
    #expect(pvm.reason.contains("kvm_pvm"))
    detector.fileExists = { $0 == "/dev/kvm" }
    #expect(try detector.choose(.auto).accelerator == .kvm)
    detector.fileExists = { _ in false }
    #expect(try detector.choose(.auto).reason.contains("/dev/kvm is missing"))
    #expect(try detector.choose(.kvm).accelerator == .kvm)
    let noKVM = AcceleratorDetector(capabilities: { "<domain type='qemu'/>" }, isLocal: false)
    #expect(try noKVM.choose(.auto).accelerator == .tcg)
    #expect(try noKVM.choose(.tcg).accelerator == .tcg)
  }
}
