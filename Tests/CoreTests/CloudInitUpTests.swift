import Boxes
import Foundation
import Spec
import Support
import Testing

@testable import Core

/// `up` of a machine on an image box or with `cloud_init`, `disk` and `volume`, through
/// the fake hypervisor: what reaches the plan, what runs in the guest and in what order.
struct CloudInitUpTests {
  /// Installs an image box `debian/12` (as `box add` of a qcow2 image leaves it).
  static func installImageBox(_ f: Fixture, firmware: String = "uefi") throws {
    let dir = BoxStore(root: f.root + "/home/boxes").directory(name: "debian/12", version: "0")
    let metadata = """
      {"provider":"libvirt","format":"qcow2","virtual_size":2,"image":{"format":"qcow2","firmware":"\(firmware)",\
      "source":"/images/debian-12-genericcloud-amd64.qcow2","checksum":"sha512:00"}}
      """
    try FileSystem.writeAtomically(Data(metadata.utf8), to: dir + "/metadata.json")
  }

  static func text(_ seed: Data?) -> String { seed.map { String(decoding: $0, as: UTF8.self) } ?? "" }

  @Test func anImageBoxGetsASeedWithTheMachinesKeyAndNoKeyReplacement() throws {
    let f = try Fixture(
      """
      box "debian/12"
      hostname "web.example.test"
      ssh { user "dev" }
      """)
    defer { f.cleanUp() }
    try CloudInitUpTests.installImageBox(f)
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let plan = try #require(f.hypervisor.plans.last)
    let seed = CloudInitUpTests.text(plan.devices.seed)
    #expect(seed.contains("CD001"), "an ISO 9660 image")
    #expect(seed.contains("name: dev") && seed.contains("ssh-ed25519 AAAA"), "the user and the machine's key")
    #expect(seed.contains("local-hostname: web.example.test") && seed.contains("instance-id: caravan-default-"))
    #expect(plan.devices.firmware == .uefi, "the image boots with UEFI: its index said so")
    let commands = f.guest.commands
    #expect(commands.contains { $0.hasPrefix("cloud-init status --wait") }, "\(commands)")
    #expect(!commands.contains { $0.hasPrefix("replaceKey") }, "no insecure key to replace: \(commands)")
    #expect(try f.project.loadRecord("default")?.keyReplaced == true)
    #expect(f.reporter.lines.contains("default: cloud-init is done"), "\(f.reporter.lines)")
    #expect(!f.reporter.lines.contains { $0.contains("not supported yet") }, "\(f.reporter.lines)")
  }

  @Test func theSameMachineKeepsItsInstanceIDAndASecondMachineGetsItsOwn() throws {
    let f = try Fixture(
      """
      box "debian/12"
      machine "a" {}
      machine "b" {}
      """)
    defer { f.cleanUp() }
    try CloudInitUpTests.installImageBox(f)
    let a = try f.lifecycle.cloudInitSeed(f.project.spec.machines[0])
    let again = try f.lifecycle.cloudInitSeed(f.project.spec.machines[0])
    let b = try f.lifecycle.cloudInitSeed(f.project.spec.machines[1])
    #expect(a.metaData == again.metaData)
    #expect(a.metaData != b.metaData)
  }

  @Test func aBoxWithCloudInitGetsTheUsersDataMergedAndItsKeyReplacedAsBefore() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      cloud_init inline: "#cloud-config\\nwrite_files:\\n  - path: /etc/from-user\\n    content: hello\\n"
      provision shell, inline: "true"
      """)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let seed = CloudInitUpTests.text(f.hypervisor.plans.last?.devices.seed)
    #expect(seed.contains("/etc/from-user") && seed.contains("ssh-ed25519 AAAA"), "both sides kept")
    #expect(f.hypervisor.plans.last?.devices.firmware == .bios)
    let commands = f.guest.commands
    let wait = try #require(commands.firstIndex { $0.hasPrefix("cloud-init status --wait") })
    let provision = try #require(commands.firstIndex { $0.hasPrefix("provision") })
    #expect(wait < provision, "cloud-init finishes before the provisioners: \(commands)")
    #expect(commands.contains { $0.hasPrefix("replaceKey") }, "a .box has an insecure key to replace")
  }

  @Test func aBoxWithoutCloudInitGetsNoSeed() throws {
    let f = try Fixture("box \"caravan/debian-12\"\n")
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    #expect(f.hypervisor.plans.last?.devices.seed == nil)
    #expect(!f.guest.commands.contains { $0.contains("cloud-init") })
  }

  @Test func aCloudInitErrorFailsUpNamingItAndTheLog() throws {
    let f = try Fixture("box \"debian/12\"\n")
    defer { f.cleanUp() }
    try CloudInitUpTests.installImageBox(f)
    f.guest.statuses = ["cloud-init status": 1]
    let options = UpOptions(provision: false, destroyOnError: false)
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: options)
    }
    #expect(error.message.contains("cloud-init reported an error (exit status 1)"), "\(error.message)")
    #expect(error.message.contains("/var/log/cloud-init-output.log"), "\(error.message)")
    #expect(f.guest.commands.contains { $0.contains("tail -n 15 /var/log/cloud-init-output.log") })
  }

  @Test func anImageThatNeverAnswersIsNamedWithItsSeedAndFirmware() throws {
    let f = try Fixture("box \"debian/12\"\nboot_timeout 1s\n")
    defer { f.cleanUp() }
    try CloudInitUpTests.installImageBox(f)
    f.guest.ready = false
    let options = UpOptions(provision: false, destroyOnError: false)
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, options: options)
    }
    #expect(error.message.contains("the image may not have read it (no cloud-init in the image"), "\(error.message)")
    #expect(error.message.contains("booted with UEFI (OVMF) firmware") && error.message.contains("firmware bios"))
  }

  /// A saved state holds the box's guest as it was: a machine configured by cloud-init, or
  /// with devices the saved guest lacks, boots cold and says why.
  @Test func machinesASavedStateCannotServeBootColdSayingWhy() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      libvirt { warm true }
      machine "seeded" { cloud_init inline: "#cloud-config\\nruncmd: [true]" }
      machine "volume" { volume "data", size: 1GiB }
      machine "uefi" { libvirt { firmware uefi } }
      machine "tpm" { libvirt { tpm true } }
      """)
    defer { f.cleanUp() }
    let machines = f.project.spec.machines
    let box = try #require(try f.lifecycle.boxes.list().first)
    #expect(f.lifecycle.warmObstacle(machines[0], box: box)?.contains("its own `cloud_init`") == true)
    #expect(f.lifecycle.warmObstacle(machines[1], box: box)?.contains("volume 'data'") == true)
    #expect(f.lifecycle.warmObstacle(machines[2], box: box)?.contains("UEFI") == true)
    #expect(f.lifecycle.warmObstacle(machines[3], box: box)?.contains("TPM") == true)
    var plain = machines[0]
    plain.cloudInit = nil
    #expect(f.lifecycle.warmObstacle(plain, box: box) == nil)
  }

  /// An image box's saved state is made with Caravan's seed alone (the insecure key,
  /// a template instance id) once cloud-init is done; each copy gets the machine's
  /// seed, then its own key, hostname and instance id.
  @Test func anImageMachineStartsWarmAndTakesItsOwnKeyHostnameAndInstanceID() throws {
    let f = try Fixture(
      """
      box "debian/12"
      libvirt { warm true }
      ssh { user "dev" }
      machine "web"
      machine "private" { ssh { private_key "id" } }
      """)
    defer { f.cleanUp() }
    f.lifecycle.sshAnswers = { _ in true }
    try CloudInitUpTests.installImageBox(f, firmware: "bios")
    let box = try #require(try f.lifecycle.boxes.list().first { $0.name == "debian/12" })
    let machines = f.project.spec.machines
    #expect(f.lifecycle.warmObstacle(machines[0], box: box) == nil)
    let obstacle = f.lifecycle.warmObstacle(machines[1], box: box)
    #expect(obstacle?.contains("`private_key`") == true, "\(obstacle ?? "none")")
    try f.lifecycle.up([machines[0]], provision: false)

    let template = try #require(f.hypervisor.plans.first { $0.machineName == "warm-state" })
    let templateSeed = CloudInitUpTests.text(template.devices.seed)
    #expect(templateSeed.contains("name: dev") && templateSeed.contains("AAAAinsecure"), "the insecure key")
    #expect(templateSeed.contains("instance-id: caravan-warm-") && !templateSeed.contains("caravan-web-"))
    let machine = try #require(f.hypervisor.plans.last { $0.machineName == "web" })
    let seed = CloudInitUpTests.text(machine.devices.seed)
    let instanceID = try f.lifecycle.instanceID(machines[0])
    #expect(seed.contains("instance-id: \(instanceID)") && !seed.contains("AAAAinsecure"), "the machine's own seed")
    #expect(f.hypervisor.calls.contains { $0.hasPrefix("startWarm ") }, "restored, not booted")
    let commands = f.guest.commands
    let waited = try #require(commands.firstIndex { $0.hasPrefix("cloud-init status --wait") })
    let refreshed = try #require(commands.firstIndex(of: "sudo sh -s"))
    let replaced = try #require(commands.firstIndex { $0.hasPrefix("replaceKey") })
    #expect(waited < refreshed && refreshed < replaced, "saved after cloud-init; identity, then the key")
    #expect(commands.contains { $0.contains("hostname web ") })
    let script = try #require(f.guest.inputs.first { $0.contains("/etc/machine-id") })
    #expect(script.contains("new='\(instanceID)'") && script.contains("$cloud/data/instance-id"))
    let state = try #require(WarmStateFiles.all(box).first)
    #expect(state.fingerprint.seedUser == "dev")
    #expect(try f.project.loadRecord("web")?.keyReplaced == true)
  }

  @Test func diskVolumesFirmwareTPMAndGraphicsReachThePlanAndKeptVolumesStay() throws {
    let f = try Fixture(
      """
      box "caravan/debian-12"
      disk 20GiB
      volume "data", size: 1GiB, keep: true
      volume "scratch", size: 2GiB, bus: scsi
      libvirt { secure_boot true; tpm true; graphics spice }
      """)
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, provision: false)
    let devices = try #require(f.hypervisor.plans.last?.devices)
    #expect(devices.rootDiskBytes == 20 << 30)
    #expect(devices.volumes.map(\.name) == ["data", "scratch"] && devices.volumes.map(\.keep) == [true, false])
    #expect(devices.firmware == .uefi && devices.secureBoot && devices.tpm && devices.graphics == .spice)
    #expect(f.guest.commands.contains(Lifecycle.growRootScript), "the root file system is grown after SSH")
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(
      f.reporter.lines.contains { $0.contains("keeping volume '/fake/pool/") && $0.contains("-volume-data.qcow2'") },
      "\(f.reporter.lines)")
    #expect(!f.reporter.lines.contains { $0.contains("-volume-scratch") })
  }
}
