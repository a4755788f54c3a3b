import Foundation
import Machinefile
import Spec
import Support
import Testing

@testable import Core

/// Warm starts against the fake hypervisor: when the state is made, reused, remade
/// and given up, and what a restored guest is sent.
struct WarmStartTests {
  static let machinefile = """
    box "caravan/debian-12"
    memory 768
    machine "web" {
      provision shell, name: "hello", inline: "true"
    }
    machine "db" {
      hostname "db.example.test"
    }
    """

  static func warmFixture(_ text: String = WarmStartTests.machinefile) throws -> Fixture {
    let f = try Fixture(text)
    f.lifecycle.sshAnswers = { _ in true }
    return f
  }

  func calls(_ f: Fixture, _ prefix: String) -> [String] { f.hypervisor.calls.filter { $0.hasPrefix(prefix) } }

  @Test func theFirstWarmUpMakesTheStateOnceAndEveryNewMachineRestoresIt() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up(f.project.spec.machines, options: UpOptions(warm: true))
    #expect(calls(f, "warmTemplate").count == 1, "one boot makes the state")
    #expect(calls(f, "captureWarm").count == 1)
    #expect(calls(f, "defineWarm").count == 2)
    #expect(calls(f, "startWarm").count == 2)
    #expect(calls(f, "define ").isEmpty, "no machine was booted cold")
    #expect(f.reporter.lines.contains { $0.contains("has no saved state in pool 'caravan' yet; making it now") })
    // Each guest got its identity, before its key was replaced, then its hostname.
    let guest = f.guest.commands
    #expect(guest.filter { $0 == "sudo sh -s" }.count == 2)
    let firstRefresh = try #require(guest.firstIndex(of: "sudo sh -s"))
    let firstKey = try #require(guest.firstIndex { $0.hasPrefix("replaceKey") })
    #expect(firstRefresh < firstKey)
    #expect(guest.contains { $0.contains("hostname web ") }, "a restored machine without `hostname` gets its name")
    #expect(guest.contains { $0.contains("hostname db.example.test ") })
    #expect(guest.contains("provision hello"))
    for name in ["web", "db"] {
      let record = try #require(try f.project.loadRecord(name))
      #expect(record.firstUp != .identityPending, "the refresh is done")
      #expect(record.firstUp == .finished)
    }
    let box = try #require(try f.lifecycle.boxes.list().first)
    let states = WarmStateFiles.all(box)
    #expect(states.count == 1)
    #expect(states.first?.fingerprint.memoryMiB == 768)

    // Later machines of the box restore it without a boot.
    try f.lifecycle.destroy([f.project.spec.machines[1]])
    try f.lifecycle.up([f.project.spec.machines[1]], options: UpOptions(warm: true))
    #expect(calls(f, "warmTemplate").count == 1)
    #expect(calls(f, "startWarm").count == 3)
  }

  @Test func aStateMadeForOtherMemoryIsRemadeAndUpSaysWhy() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    var bigger = f.project.spec.machines[1]
    bigger.memoryBytes = 2048 << 20
    try f.lifecycle.up([bigger], options: UpOptions(warm: true))
    #expect(calls(f, "warmTemplate").map { $0.split(separator: " ").last.map(String.init) } == ["768", "2048"])
    #expect(
      f.reporter.lines.contains {
        $0.contains("does not fit this machine (it has 768 MiB of memory, the machine 2048 MiB)")
      })
    let box = try #require(try f.lifecycle.boxes.list().first)
    #expect(WarmStateFiles.all(box).map(\.fingerprint.memoryMiB) == [2048])
  }

  @Test func aNewQEMUInvalidatesTheState() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    f.hypervisor.warmFingerprintVersion = "8.0.0"
    try f.lifecycle.up([f.project.spec.machines[1]], options: UpOptions(warm: true))
    #expect(calls(f, "warmTemplate").count == 2)
    #expect(f.reporter.lines.contains { $0.contains("QEMU was 7.2.0 when it was made, and is 8.0.0 now") })
  }

  @Test func aFailedRestoreBootsColdRemovesTheStateAndLeavesNothingOfTheAttempt() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    f.hypervisor.warmStartFailure = "qemu-system-x86_64: Error -22 while loading VM state"
    let db = f.project.spec.machines[1]
    try f.lifecycle.up([db], options: UpOptions(warm: true))
    let domain = f.project.domainName(for: "db")
    #expect(f.hypervisor.calls.contains("remove \(domain)"), "the half-made machine went")
    #expect(
      f.hypervisor.calls.suffix(from: try #require(f.hypervisor.calls.firstIndex(of: "remove \(domain)"))).contains(
        "define \(domain)"))
    #expect(try f.hypervisor.status(domain: domain) == .running)
    #expect(
      f.reporter.lines.contains {
        $0.contains(
          "the warm start failed (qemu-system-x86_64: Error -22 while loading VM state); falling back to a cold boot")
      })
    #expect(f.hypervisor.warmVolumes.isEmpty, "the state that failed is removed")
    let box = try #require(try f.lifecycle.boxes.list().first)
    #expect(WarmStateFiles.all(box).isEmpty)
    let record = try #require(try f.project.loadRecord("db"))
    #expect(record.firstUp != .identityPending, "a cold boot has its own identity")
    #expect(!f.guest.commands.contains { $0.contains("hostname db ") }, "only the Machinefile's hostname is set")
  }

  @Test func aStateWhoseRecordCannotBeReadIsRemovedAndUpBootsCold() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    let box = try #require(try f.lifecycle.boxes.list().first)
    let file = WarmStateFiles.path(for: box, uri: f.hypervisor.uri, pool: "caravan")
    try Data("{\"uri\": \"fake".utf8).write(to: URL(fileURLWithPath: file))
    try f.lifecycle.up([f.project.spec.machines[1]], options: UpOptions(warm: true))
    #expect(
      f.reporter.lines.contains {
        $0.contains("the saved state of box 'caravan/debian-12' (0) is damaged: its record")
          && $0.contains("Falling back to a cold boot")
      })
    #expect(f.hypervisor.warmVolumes.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: file))
    #expect(calls(f, "define ").count == 1, "db booted cold")
    #expect(calls(f, "warmTemplate").count == 1, "nothing was made again by this up")
  }

  @Test func withoutWarmNothingIsSavedAndTheMachinefileCanAskForIt() throws {
    let cold = try WarmStartTests.warmFixture()
    defer { cold.cleanUp() }
    try cold.lifecycle.up(cold.project.spec.machines, options: UpOptions())
    #expect(calls(cold, "warmTemplate").isEmpty)
    #expect(!cold.guest.commands.contains("sudo sh -s"))

    let warm = try WarmStartTests.warmFixture("box \"caravan/debian-12\"\nlibvirt {\n  warm true\n}\n")
    defer { warm.cleanUp() }
    try warm.lifecycle.up(warm.project.spec.machines, options: UpOptions())
    #expect(calls(warm, "startWarm").count == 1)
    // --no-warm wins over the Machinefile.
    try warm.lifecycle.destroy(warm.project.spec.machines)
    try warm.lifecycle.up(warm.project.spec.machines, options: UpOptions(warm: false))
    #expect(calls(warm, "startWarm").count == 1)
  }

  @Test func aMachineThatExistsBootsFromItsOwnDisk() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    let web = [f.project.spec.machines[0]]
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    try f.lifecycle.halt(web, force: true)
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    #expect(calls(f, "startWarm").count == 1)
    #expect(f.hypervisor.calls.last { $0.hasPrefix("start ") } == "start \(f.project.domainName(for: "web"))")
  }

  @Test func aTemplateThatNeverAnswersFallsBackToAColdBoot() throws {
    let f = try WarmStartTests.warmFixture("box \"caravan/debian-12\"\nboot_timeout 1s\n")
    defer { f.cleanUp() }
    f.lifecycle.sshAnswers = { _ in false }
    try f.lifecycle.up(f.project.spec.machines, options: UpOptions(warm: true))
    #expect(
      f.reporter.lines.contains {
        $0.contains("could not make the warm state") && $0.contains("falling back to a cold boot")
      })
    #expect(f.hypervisor.domains.keys.allSatisfy { !$0.hasPrefix("caravan.warm-") }, "the template is gone")
    #expect(f.hypervisor.warmVolumes.isEmpty)
    #expect(calls(f, "define ").count == 1)
  }

  @Test func aWarmStartCutShortBeforeItsGuestRanIsMadeAgain() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    let web = [f.project.spec.machines[0]]
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    // As a kill between the define and the restore leaves it: defined, off, identity due.
    var record = try #require(try f.project.loadRecord("web"))
    record.firstUp = .identityPending
    try f.project.saveRecord(record, for: "web")
    let domain = f.project.domainName(for: "web")
    f.hypervisor.domains[domain]?.status = .poweroff
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    #expect(f.reporter.lines.contains { $0.contains("its warm start was interrupted; removing it and starting again") })
    #expect(calls(f, "startWarm").count == 2)
    #expect(try f.project.loadRecord("web")?.firstUp != .identityPending)
  }

  @Test func aWarmStartKilledBeforeAnyRecordIsFoundByItsSnapshotAndMadeAgain() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    let web = [f.project.spec.machines[0]]
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    // As a kill right after the define leaves it: no record, no progress, the snapshot still known.
    let domain = f.project.domainName(for: "web")
    try f.project.removeMachineState("web")
    f.hypervisor.progress[domain] = nil
    f.hypervisor.domains[domain]?.status = .poweroff
    f.hypervisor.snapshotsByDomain[domain] = [
      SnapshotInfo(name: WarmState.snapshotName, createdAt: Date(), state: .running)
    ]
    try f.lifecycle.up(web, options: UpOptions(warm: true))
    #expect(f.reporter.lines.contains { $0.contains("its warm start was interrupted") })
    #expect(calls(f, "startWarm").count == 2)
  }

  @Test func destroyRemovesAWarmStateGuestAKilledUpLeft() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    f.hypervisor.domains["caravan.warm-0123abcd"] = ("uuid", .running)
    try f.lifecycle.destroy(f.project.spec.machines)
    #expect(f.hypervisor.calls.contains("removeWarmTemplate caravan.warm-0123abcd"))
    #expect(f.hypervisor.domains.isEmpty)
  }

  @Test func aFailedWarmStartKeepsTheStateWhileAnotherUpHoldsIt() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    let box = try #require(try f.lifecycle.boxes.list().first)
    let state = try #require(WarmStateFiles.all(box).first)
    // Another `up` is copying the state (it holds its lock, shared) when this one's restore fails.
    let other = try FileLock(path: f.lifecycle.warmLockPath(box, pool: state.pool), shared: true)
    defer { other.unlock() }
    f.hypervisor.warmStartFailure = "qemu-system-x86_64: Error -22 while loading VM state"
    try f.lifecycle.up([f.project.spec.machines[1]], options: UpOptions(warm: true))
    #expect(try f.hypervisor.status(domain: f.project.domainName(for: "db")) == .running, "booted cold")
    #expect(f.reporter.lines.contains { $0.contains("is kept: another `up` is using or has replaced it") })
    #expect(WarmStateFiles.all(box) == [state], "the state another `up` uses is not discarded")
    #expect(!f.hypervisor.warmVolumes.isEmpty)
  }

  @Test func aFailedWarmStartLeavesAStateAnotherUpMadeMeanwhile() throws {
    let f = try WarmStartTests.warmFixture()
    defer { f.cleanUp() }
    try f.lifecycle.up([f.project.spec.machines[0]], options: UpOptions(warm: true))
    let box = try #require(try f.lifecycle.boxes.list().first)
    let used = try #require(WarmStateFiles.all(box).first)
    // While this `up` restored it, another (another memory size) replaced the state with its own.
    var replaced = used
    replaced.fingerprint.memoryMiB = 2048
    replaced.createdAt = "2026-01-01T00:00:00Z"
    f.hypervisor.warmStartFailure = "qemu-system-x86_64: Error -22 while loading VM state"
    f.hypervisor.onStartWarm = { [replaced] in try? WarmStateFiles.write(replaced, for: box) }
    try f.lifecycle.up([f.project.spec.machines[1]], options: UpOptions(warm: true))
    #expect(WarmStateFiles.all(box) == [replaced], "the winner's fresh state is not discarded")
    #expect(f.reporter.lines.contains { $0.contains("is kept: another `up` is using or has replaced it") })
  }

  @Test func theIdentityScriptCarriesTheNewIdentityAndIsValidShell() throws {
    let script = Lifecycle.identityScript(
      epoch: 1_800_000_000.25, machineID: "0123456789abcdef0123456789abcdef", seed: Data((0..<200).map { UInt8($0) }),
      hostKeys: [(type: "ed25519", privateKey: Data("PRIVATE'KEY\n".utf8), publicKey: Data("ssh-ed25519 AAAA\n".utf8))])
    #expect(script.contains("date -u -s @1800000000.250"))
    #expect(script.contains("'0123456789abcdef0123456789abcdef' > /etc/machine-id"))
    #expect(script.contains("ioctl($f, 0x5207, 0)"), "the kernel's CRNG is reseeded")
    #expect(script.contains("> /etc/ssh/ssh_host_ed25519_key;"))
    #expect(script.contains("'PRIVATE'\\''KEY\n'"), "a quote in a key cannot end the shell word")
    #expect(script.contains("\\0\\1\\2\\3"), "the host's random bytes, as octal escapes")
    #expect(!script.contains("/var/lib/cloud"), "no cloud-init records without an instance id")
    let check = try Subprocess(["sh", "-n", "-c", script]).run()
    #expect(check.status == 0, "sh -n: \(check.stderr)")
  }

  /// The template's cloud-init instance becomes the machine's, run against a copy of
  /// cloud-init's folders: renamed with its semaphores, the cache dropped, ids rewritten.
  @Test func theInstanceIDLinesRenameTheTemplatesInstance() throws {
    let root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-cloud")
    defer { try? FileSystem.removeTree(root) }
    let cloud = root + "/var/lib/cloud"
    try FileSystem.makeDirectory(cloud + "/instances/caravan-warm-1/sem")
    try FileSystem.makeDirectory(cloud + "/data")
    try FileSystem.writeAtomically(Data("x".utf8), to: cloud + "/instances/caravan-warm-1/sem/config_users_groups")
    try FileSystem.writeAtomically(Data("x".utf8), to: cloud + "/instances/caravan-warm-1/obj.pkl")
    try FileSystem.writeAtomically(Data("caravan-warm-1\n".utf8), to: cloud + "/data/instance-id")
    _ = try Subprocess(["ln", "-s", cloud + "/instances/caravan-warm-1", cloud + "/instance"]).run()
    let lines = Lifecycle.cloudInitInstanceLines("caravan-web-abc").joined(separator: "\n")
      .replacingOccurrences(of: "cloud=/var/lib/cloud", with: "cloud=\(cloud)")
      .replacingOccurrences(of: "/run/cloud-init/", with: root + "/run/")
    let run = try Subprocess(["sh", "-e", "-c", lines]).run()
    #expect(run.status == 0, "\(run.stderr)")
    #expect(FileSystem.exists(cloud + "/instances/caravan-web-abc/sem/config_users_groups"))
    #expect(!FileSystem.exists(cloud + "/instances/caravan-warm-1"))
    #expect(!FileSystem.exists(cloud + "/instances/caravan-web-abc/obj.pkl"))
    #expect(FileManager.default.contents(atPath: cloud + "/data/instance-id") == Data("caravan-web-abc\n".utf8))
    let link = try FileManager.default.destinationOfSymbolicLink(atPath: cloud + "/instance")
    #expect(link == cloud + "/instances/caravan-web-abc")
  }

  @Test func whyAStateDoesNotFitIsSaidInWords() {
    let made = WarmFingerprint(
      boxVolume: "v", memoryMiB: 1024, cpus: 1, machineType: "pc", cpuMode: nil, accelerator: "tcg",
      qemuVersion: "7.2.0", libvirtVersion: "9.0.0", layout: "a")
    #expect(made.mismatch(made) == nil)
    var wanted = made
    wanted.cpus = 2
    wanted.machineType = "q35"
    #expect(made.mismatch(wanted) == "it has 1 CPU, the machine 2; its machine type is pc, the machine's q35")
    var layout = made
    layout.layout = "b"
    #expect(made.mismatch(layout) == "this Caravan defines machines differently from the one that made it")
  }

  @Test func warmMachinesComeUpTogetherEvenUnderTCG() {
    let machines = (1...3).map { MachineSpec(name: "m\($0)") }
    let resources = { HostResources(cpus: 2, availableMemoryMiB: 8192) }
    #expect(
      Parallelism.choose(requested: nil, machines: machines, resources: resources, softwareEmulated: true).limit == 1)
    let warm = Parallelism.choose(
      requested: nil, machines: machines, resources: resources, softwareEmulated: true, warm: true)
    #expect(warm.limit == 2)
    #expect(warm.reason.contains("warm starts restore"))
  }

  @Test func memorySizesReadAsTheLanguageReadsThem() {
    #expect(parseMemorySize("2GiB") == 2 << 30)
    #expect(parseMemorySize("768M") == 768 << 20)
    #expect(parseMemorySize("1024") == 1 << 30)
    #expect(parseMemorySize("1.5G") == nil)
    #expect(parseMemorySize("lots") == nil)
    #expect(parseMemorySize("2XB") == nil)
  }
}
