import Boxes
import Foundation
import Support
import Testing

@testable import Core
@testable import Host

/// A host in memory: files with owners and modes, programs on PATH, users, free space.
final class FakeHost: HostFacts, @unchecked Sendable {
  // @unchecked: every stored property is `@Guarded` (used only under its lock, never replaced).
  @Guarded var isRoot = true
  @Guarded var currentUser: UserFacts? = UserFacts(name: "root", uid: 0, groups: [0])
  @Guarded var home = UserHome(path: "/home/alice", source: .environment)
  @Guarded var files: [String: FileFacts] = [
    "/dev/kvm": FileFacts(uid: 0, gid: 107, mode: 0o660),
    "/usr/sbin/libvirtd": FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false),
    "/usr/share/OVMF/OVMF_CODE_4M.fd": FileFacts(uid: 0, gid: 0, mode: 0o644, isCharacterDevice: false),
    "/usr/share/OVMF/OVMF_CODE_4M.ms.fd": FileFacts(uid: 0, gid: 0, mode: 0o644, isCharacterDevice: false),
    "/usr/share/qemu/firmware": FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false),
  ]
  @Guarded var texts: [String: String] = ["/sys/module/kvm_intel/parameters/nested": "Y\n"]
  @Guarded var sizes: [String: UInt64] = [:]
  @Guarded var programs: [String: String] = [
    "ssh": "/usr/bin/ssh", "ssh-keygen": "/usr/bin/ssh-keygen", "mmdebstrap": "/usr/bin/mmdebstrap",
    "ansible-playbook": "/usr/bin/ansible-playbook", "rsync": "/usr/bin/rsync", "swtpm": "/usr/bin/swtpm",
    "swtpm_setup": "/usr/bin/swtpm_setup", "/usr/lib/qemu/virtiofsd": "/usr/lib/qemu/virtiofsd",
  ]
  @Guarded var free: UInt64? = 50 << 30
  @Guarded var users = [
    "libvirt-qemu": UserFacts(name: "libvirt-qemu", uid: 64055, groups: [107, 64055]),
    "alice": UserFacts(name: "alice", uid: 1000, groups: [1000]),
  ]
  @Guarded var groups: [String: UInt32] = ["root": 0, "kvm": 107, "libvirt-qemu": 64055]
  @Guarded var versions: [String: String] = [
    "/usr/bin/ssh": "OpenSSH_9.2p1 Debian-2", "/usr/lib/qemu/virtiofsd": "virtiofsd version 7.2.22",
  ]

  func exists(_ path: String) -> Bool { files[path] != nil }
  func stat(_ path: String) -> FileFacts? { files[path] }
  func fileSize(_ path: String) -> UInt64? { sizes[path] }
  func read(_ path: String) -> String? { texts[path] }
  func findProgram(_ name: String) -> String? { programs[name] }
  func freeBytes(_ path: String) -> UInt64? { free }
  func user(named name: String) -> UserFacts? { users[name] }
  func userName(_ uid: UInt32) -> String? {
    uid == 0 ? "root" : users.values.first { $0.uid == uid }?.name
  }
  func groupID(named name: String) -> UInt32? { groups[name] }
  func groupName(_ gid: UInt32) -> String? { groups.first { $0.value == gid }?.key }
  func firstLine(of arguments: [String]) -> String? { versions[arguments[0]] }
}

/// libvirt's answers, at the `HypervisorInspection` boundary.
struct FakeInspection: HypervisorInspection {
  var uri = "qemu:///system"
  var libvirtVersions: HypervisorVersions? = HypervisorVersions(libvirt: 9_000_000, hypervisor: 7_002_022)
  var kvm = true
  var pool: StoragePoolFacts = .active(
    name: "caravan", path: "/var/lib/libvirt/images/caravan", capacity: 100 << 30, available: 40 << 30)

  func versions() throws -> HypervisorVersions {
    guard let libvirtVersions else { throw CaravanError(.hypervisor, "no version") }
    return libvirtVersions
  }
  func offersKVM() throws -> Bool { kvm }
  func storagePool(named name: String?) throws -> StoragePoolFacts { pool }
}

struct DoctorSetup {
  var host = FakeHost()
  var libvirt: FakeInspection? = FakeInspection()
  var uri = "qemu:///system"
  var environment: [String: String] = ["PATH": "/usr/bin"]
  var boxes = BoxStore(root: "/nonexistent/boxes")
  var nestedMachines: [String] = []

  func run() -> [String: HealthCheck] {
    let libvirt = self.libvirt
    var doctor = Doctor(
      uri: uri, uriSource: "the default", pool: nil, home: "/home/caravan", boxes: boxes, environment: environment,
      host: host,
      connect: { uri in
        guard var libvirt else {
          throw CaravanError(
            .hypervisor,
            "cannot connect to libvirt at '\(uri)': Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory",
            hint: "Is libvirtd running? Start it: `sudo systemctl start libvirtd`")
        }
        libvirt.uri = uri
        return libvirt
      })
    doctor.nestedMachines = nestedMachines
    let checks = doctor.run()
    return Dictionary(checks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
  }
}

@Suite struct DoctorTests {
  @Test func aHealthyHostIsAllOK() {
    let checks = DoctorSetup().run()
    let notOK = checks.values.filter { $0.status != .ok }.map(\.id)
    #expect(notOK.isEmpty, "\(checks)")
    #expect(checks["kvm"]?.summary == "KVM is usable: guests run with hardware virtualisation")
    #expect(checks["versions"]?.summary == "libvirt 9.0.0, QEMU 7.2.22")
    #expect(checks["ssh"]?.summary.contains("OpenSSH_9.2p1") == true)
    #expect(checks["virtiofs"]?.summary.contains("/usr/lib/qemu/virtiofsd (virtiofsd version 7.2.22)") == true)
    #expect(checks["storage_pool"]?.summary == "storage pool 'caravan' is active at /var/lib/libvirt/images/caravan")
    let ids = Set(checks.keys)
    #expect(
      ids == [
        "libvirt", "storage_pool", "kvm", "kvm_device", "nested", "versions", "port_forwarding", "virtiofs", "session",
        "ssh", "disk_home", "disk_pool", "ovmf", "swtpm", "mmdebstrap", "ansible", "rsync",
      ])
    #expect(checks["ovmf"]?.summary.contains("with Secure Boot") == true, "\(String(describing: checks["ovmf"]))")
  }

  @Test func libvirtNotAnsweringIsAnErrorWithHowToStartItAndTheRestSkipped() {
    var setup = DoctorSetup()
    setup.libvirt = nil
    let checks = setup.run()
    let libvirt = checks["libvirt"]
    #expect(libvirt?.status == .error)
    #expect(libvirt?.summary.contains("cannot connect to libvirt at 'qemu:///system'") == true)
    #expect(libvirt?.summary.contains("(the URI is the default)") == true)
    #expect(libvirt?.fix?.contains("systemctl start libvirtd") == true)
    for id in ["storage_pool", "versions", "port_forwarding", "disk_pool", "kvm"] {
      #expect(checks[id]?.status == .skipped, "\(id): \(String(describing: checks[id]))")
    }
    #expect(checks["ssh"]?.status == .ok, "host checks still run")
  }

  @Test func poolMissingSaysWhereTheFirstUpMakesIt() {
    var setup = DoctorSetup()
    setup.libvirt?.pool = .missing(name: "caravan", path: "/var/lib/libvirt/images/caravan")
    let checks = setup.run()
    #expect(checks["storage_pool"]?.status == .ok)
    #expect(
      checks["storage_pool"]?.summary
        == "storage pool 'caravan' is not defined yet: the first `up` defines it (a `dir` pool) at /var/lib/libvirt/images/caravan"
    )
    #expect(checks["disk_pool"]?.status == .ok, "the file system it will be on is checked")
    setup.libvirt?.pool = .inactive(name: "caravan", path: "/srv/pool")
    #expect(setup.run()["storage_pool"]?.summary.contains("defined but not active: `up` starts it") == true)
  }

  @Test func kvmPVMIsAWarningWithWhatTCGCosts() {
    var setup = DoctorSetup()
    setup.host.files["/sys/module/kvm_pvm"] = FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false)
    let kvm = setup.run()["kvm"]
    #expect(kvm?.status == .warning)
    #expect(kvm?.summary.contains("kvm_pvm") == true)
    #expect(kvm?.summary.contains("about 30 s to reach SSH under TCG") == true)
    #expect(kvm?.fix?.contains("chooses TCG here by itself") == true)
  }

  @Test func missingDevKVMIsAWarning() {
    var setup = DoctorSetup()
    setup.host.files["/dev/kvm"] = nil
    let checks = setup.run()
    #expect(checks["kvm"]?.status == .warning)
    #expect(checks["kvm"]?.summary.hasPrefix("/dev/kvm is missing") == true)
    #expect(checks["kvm"]?.fix?.contains("modprobe kvm_intel") == true)
    #expect(checks["kvm_device"]?.status == .skipped)
  }

  @Test func libvirtOfferingNoKVMIsAWarning() {
    var setup = DoctorSetup()
    setup.libvirt?.kvm = false
    let kvm = setup.run()["kvm"]
    #expect(kvm?.status == .warning)
    #expect(kvm?.fix?.contains("virt-host-validate qemu") == true)
  }

  @Test func rootOnlyDevKVMWarnsOfTheSlowDefineWithTheFix() {
    var setup = DoctorSetup()
    setup.host.files["/dev/kvm"] = FileFacts(uid: 0, gid: 0, mode: 0o600)
    let checks = setup.run()
    let device = checks["kvm_device"]
    #expect(device?.status == .warning)
    #expect(
      device?.summary.hasPrefix("/dev/kvm is root:root 0600 and libvirt's QEMU user libvirt-qemu cannot open it")
        == true, "\(String(describing: device))")
    #expect(device?.summary.contains("takes about 48 s") == true)
    #expect(device?.fix?.contains("chown root:kvm /dev/kvm; chmod 0660 /dev/kvm") == true)
    #expect(device?.fix?.contains("/etc/udev/rules.d/65-kvm.rules") == true)
    #expect(checks["kvm"]?.status == .warning, "libvirt then offers no KVM")
  }

  @Test func theQEMUUserComesFromQemuConf() {
    var setup = DoctorSetup()
    setup.host.texts["/etc/libvirt/qemu.conf"] = "#user = \"libvirt-qemu\"\nuser = \"alice\"\n"
    #expect(setup.run()["kvm_device"]?.status == .warning, "alice is not in group kvm")
    setup.host.texts["/etc/libvirt/qemu.conf"] = "user = \"alice\"\ngroup = \"kvm\"\n"
    #expect(setup.run()["kvm_device"]?.status == .ok, "qemu.conf's group opens it")
    setup.host.texts["/etc/libvirt/qemu.conf"] = "user = \"root\"\n"
    setup.host.files["/dev/kvm"] = FileFacts(uid: 0, gid: 0, mode: 0o600)
    #expect(setup.run()["kvm_device"]?.status == .ok)
  }

  @Test func qemuConfSettingsAreReadFromUncommentedLines() {
    let text = "user = \"first\"\n# user = \"x\"\n#user = \"libvirt-qemu\"\nusername = \"no\"\ngroup=\"kvm\"\n"
    #expect(HostChecks.setting("user", in: text) == "first")
    #expect(HostChecks.setting("group", in: text) == "kvm")
    #expect(HostChecks.setting("user", in: "#user = \"libvirt-qemu\"\nusername = \"no\"") == nil)
    #expect(HostChecks.setting("dynamic_ownership", in: text) == nil)
  }

  @Test func sessionURIChecksTheUserItself() {
    var setup = DoctorSetup()
    setup.uri = "qemu:///session"
    setup.host.isRoot = false
    setup.host.currentUser = UserFacts(name: "alice", uid: 1000, groups: [1000])
    let checks = setup.run()
    #expect(checks["kvm_device"]?.status == .warning)
    #expect(checks["kvm_device"]?.fix?.hasPrefix("As root: `adduser alice kvm`") == true, "already root:kvm 0660")
    setup.host.files["/dev/kvm"] = FileFacts(uid: 0, gid: 0, mode: 0o600)
    let device = setup.run()["kvm_device"]
    #expect(device?.fix?.contains("chown root:kvm /dev/kvm; chmod 0660 /dev/kvm` and make sure alice") == true)
    #expect(checks["session"]?.status == .ok)
    #expect(checks["session"]?.summary == "qemu:///session answers for you")
  }

  @Test func sessionAsRootSaysWhatANormalUserNeeds() {
    var setup = DoctorSetup()
    #expect(setup.run()["session"]?.summary.contains("session daemon (/usr/sbin/libvirtd)") == true)
    setup.host.files["/usr/sbin/libvirtd"] = nil
    let session = setup.run()["session"]
    #expect(session?.status == .warning)
    #expect(session?.fix?.contains("libvirt-daemon") == true)
  }

  @Test func sessionAsANormalUserIsTried() {
    var setup = DoctorSetup()
    setup.host.isRoot = false
    setup.uri = "qemu:///system"
    #expect(setup.run()["session"]?.status == .ok)
    setup.libvirt = nil
    let session = setup.run()["session"]
    #expect(session?.status == .warning, "not the URI in use")
    #expect(session?.summary.contains("cannot connect to libvirt at 'qemu:///session'") == true)
  }

  @Test func missingSSHClientIsAnError() {
    var setup = DoctorSetup()
    setup.host.programs["ssh-keygen"] = nil
    let ssh = setup.run()["ssh"]
    #expect(ssh?.status == .error)
    #expect(ssh?.summary.contains("ssh-keygen is not on PATH (/usr/bin)") == true)
    #expect(ssh?.fix == "Install it: `apt-get install openssh-client` (Debian package openssh-client).")
  }

  @Test func diskThresholds() {
    var setup = DoctorSetup()
    setup.host.free = 512 << 20
    var checks = setup.run()
    #expect(checks["disk_home"]?.status == .error)
    #expect(
      checks["disk_home"]?.summary
        == "CARAVAN_HOME (/home/caravan) has 512 MiB free (error below 1.0 GiB, warning below 5.0 GiB)")
    #expect(checks["disk_home"]?.fix?.contains("caravan box prune") == true)
    setup.host.free = 3 << 30
    checks = setup.run()
    #expect(checks["disk_home"]?.status == .warning)
    setup.libvirt?.pool = .active(name: "caravan", path: "/p", capacity: 10 << 30, available: 100 << 20)
    checks = setup.run()
    #expect(checks["disk_pool"]?.status == .error)
    #expect(checks["disk_pool"]?.summary.hasPrefix("storage pool 'caravan' (/p) has 100 MiB free") == true)
  }

  @Test func theLargestBoxRaisesTheErrorThreshold() throws {
    let root = NSTemporaryDirectory() + "caravan-doctor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let boxes = BoxStore(root: root)
    let dir = boxes.directory(name: "big", version: "1")
    try FileSystem.writeAtomically(
      Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":4}"#.utf8), to: dir + "/metadata.json")
    var setup = DoctorSetup()
    setup.boxes = boxes
    setup.host.sizes[dir + "/box.img"] = 3 << 30
    setup.host.free = 2 << 30
    let home = setup.run()["disk_home"]
    #expect(home?.status == .error)
    #expect(home?.summary.contains("error below 3.0 GiB") == true, "\(String(describing: home))")
  }

  @Test func missingOptionalToolsAreWarningsNamingFeatureAndPackage() {
    var setup = DoctorSetup()
    setup.host.programs = ["ssh": "/usr/bin/ssh", "ssh-keygen": "/usr/bin/ssh-keygen"]
    let checks = setup.run()
    #expect(checks["mmdebstrap"]?.status == .warning)
    #expect(checks["mmdebstrap"]?.summary.contains("rootfs strategy") == true)
    #expect(checks["ansible"]?.fix?.contains("ansible-core") == true)
    #expect(checks["rsync"]?.summary.contains("`caravan rsync`") == true)
    #expect(checks["virtiofs"]?.status == .warning)
    #expect(checks["virtiofs"]?.fix?.contains("qemu-system-common") == true)
    #expect(checks["swtpm"]?.status == .warning && checks["swtpm"]?.fix?.contains("swtpm-tools") == true)
    #expect(!checks.values.contains { $0.status == .error })
  }

  @Test func noOVMFIsAWarningNamingUEFIMachinesAndThePackage() {
    var setup = DoctorSetup()
    setup.host.files["/usr/share/OVMF/OVMF_CODE_4M.fd"] = nil
    let checks = setup.run()
    #expect(checks["ovmf"]?.status == .warning)
    #expect(checks["ovmf"]?.summary.contains("firmware uefi") == true)
    #expect(checks["ovmf"]?.fix == "Install the Debian package ovmf, if you use UEFI machines.")
  }

  @Test func versionsAndTheFeaturesThatFollow() {
    var setup = DoctorSetup()
    #expect(setup.run()["port_forwarding"]?.summary.contains("libvirt 9.0.0 has no passt backend") == true)
    setup.libvirt?.libvirtVersions = HypervisorVersions(libvirt: 10_000_000, hypervisor: 8_002_000)
    var checks = setup.run()
    #expect(checks["versions"]?.summary == "libvirt 10.0.0, QEMU 8.2.0")
    #expect(checks["port_forwarding"]?.summary.contains("may also offer passt") == true)
    setup.libvirt?.libvirtVersions = HypervisorVersions(libvirt: 6_000_000, hypervisor: nil)
    checks = setup.run()
    #expect(checks["virtiofs"]?.status == .warning)
    #expect(checks["versions"]?.summary == "libvirt 6.0.0, QEMU's version unknown")
  }

  @Test func aRemoteURISkipsTheHostDevice() {
    var setup = DoctorSetup()
    setup.uri = "qemu+ssh://me@far/system"
    setup.host.files["/sys/module/kvm_pvm"] = FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false)
    let checks = setup.run()
    #expect(checks["kvm_device"]?.status == .skipped)
    #expect(checks["kvm"]?.status == .ok, "this host's kvm_pvm says nothing of the remote one")
  }
}
