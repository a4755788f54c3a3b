import Foundation
import Testing

/// `caravan up`, `destroy` and `box add` sent SIGKILL at chosen and at random
/// instants on a real guest. After each kill the user gets in (`up`, then
/// `ssh`), and one `destroy -f` (or a new `box add`) leaves nothing behind.
/// The seed is printed; CARAVAN_FAULT_SEED replays a run and
/// CARAVAN_FAULT_UP_KILLS sets how many random `up` kills (default 3) it makes.
@Suite(
  .guestSlot(minutes: 6), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct FaultInjectionTests {
  @Test func killsAtEveryStepLeaveNothingAndLockNobodyOut() throws {
    let environment = ProcessInfo.processInfo.environment
    let seed = environment["CARAVAN_FAULT_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
    let randomUps = environment["CARAVAN_FAULT_UP_KILLS"].flatMap(Int.init) ?? 3
    var random = SeededRandom(seed: seed)
    print("fault injection: seed \(seed) (replay with CARAVAN_FAULT_SEED=\(seed)), \(randomUps) random up kills")
    let f = try Faults(name: "faults")
    defer { f.cleanUp() }

    // box add, killed while it unpacks (a local box takes about 0.3 s); the
    // add after it succeeds and leaves no staging.
    var addKills = 0
    for _ in 0..<12 where addKills < 3 {
      let delay = random.next(in: 0.01...0.2)
      let killed = try f.killAfter(delay, ["box", "add", "caravan/debian-12", Harness.boxFile, "--force"])
      f.killed(killed, "box add", delay)
      if killed { addKills += 1 }
    }
    let add = try f.h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, "--force", in: f.h.root)
    try #require(add.status == 0, "\(add)")
    let staging = try f.partialDownloads()
    #expect(staging.isEmpty, "staging left by killed adds: \(staging)")
    defer { _ = try? f.h.caravan("box", "remove", "caravan/debian-12", "--force", in: f.h.root) }

    // up, killed during the box's import into the pool: the half volume is never trusted.
    let importing = random.next(in: 0.1...0.6)
    f.killed(try f.killWhen(step: "import_box", after: importing, ["up"]), "up during import", importing)
    try f.destroyLeavesNothing()

    // up, killed after define and before the record: the next up adopts the domain.
    f.killed(try f.inject("define:end"), "up after define, before the record", 0)
    try f.getsIn(provisionedOnce: true)

    // destroy, killed at a random instant of its work.
    let destroying = random.next(in: 0.0...1.5)
    f.killed(try f.killAfter(destroying, ["destroy", "-f"]), "destroy", destroying)
    try f.destroyLeavesNothing()

    // up, killed while it replaces the box's insecure key.
    let replacing = random.next(in: 0.0...1.0)
    f.killed(try f.killWhen(step: "replace_key", after: replacing, ["up"]), "up during key replacement", replacing)
    try f.getsIn(provisionedOnce: true)

    // A second destroy killed, then up killed as provisioning starts.
    let destroying2 = random.next(in: 0.0...1.5)
    f.killed(try f.killAfter(destroying2, ["destroy", "-f"]), "destroy", destroying2)
    try f.destroyLeavesNothing()
    f.killed(try f.inject("provision:start"), "up as provisioning starts", 0)
    try f.provisionedWorkSurvivesHardPowerOffs()
    try f.destroyLeavesNothing()

    // up, killed at random instants of a warm start (its restore, SSH, the new identity,
    // the key, the hostname, the provisioners: 15-25 s here), on a machine restored from
    // the test box's saved state: the kills above cover the cold boot's steps.
    let w = try Faults(name: "faults-warm", warm: true)
    defer { w.cleanUp() }
    var upKills = 0
    for _ in 0..<(randomUps * 3) where upKills < randomUps {
      let delay = random.next(in: 0.3...15)
      let killed = try w.killAfter(delay, w.h.upCommand)
      w.killed(killed, "up --warm", delay)
      if killed { upKills += 1 }
      try w.getsIn(provisionedOnce: false)
      try w.destroyLeavesNothing()
    }
    print("fault injection: \(f.kills + w.kills) kills (seed \(seed))")
    #expect(f.kills + w.kills >= 12, "at least 12 kills: \(f.kills + w.kills)")
  }
}

/// A project whose commands are killed, and the checks after each kill.
final class Faults {
  let h: Harness
  let project: String
  /// The Machinefile this project was written with (`Faults.machinefile`, or its warm form).
  let machinefile: String
  var kills = 0

  /// The Machinefile: two `once` provisioners (a shell one and a file one) that do not
  /// sync what they write: Caravan's own `sync` at the end of each must put it on disk.
  /// One CPU: a guest with two costs TCG about a sixth more CPU time per boot (46 against
  /// 40 CPU-seconds), and the host's CPUs are what the end-to-end tier waits for.
  static let machinefile = machinefile(memory: "640MiB", cpus: 1)

  /// The same machine at the size of the shared warm home's saved state (1 CPU, 768 MiB),
  /// so `up --warm` restores that state and never remakes it.
  static let warmMachinefile = machinefile(memory: "768MiB", cpus: 1)

  static func machinefile(memory: String, cpus: Int) -> String {
    """
    box "caravan/debian-12"
    memory \(memory)
    cpus \(cpus)
    hostname "faults.local"
    provision shell, name: "mark", inline: "echo once >> /var/tmp/marks"
    provision file, name: "payload", source: "payload.txt", destination: "/var/tmp/payload.txt"

    """
  }

  /// `warm`: the project uses the shared warm home (its box is there already: no `box
  /// add` of this harness) and every `up` restores the box's saved state.
  init(name: String, warm: Bool = false) throws {
    h = try Harness(name: name, warm: warm)
    project = h.root + "/" + name
    machinefile = h.warm ? Faults.warmMachinefile : Faults.machinefile
    try h.write(machinefile, to: name + "/Machinefile")
    try h.write("payload of \(name)\n", to: name + "/payload.txt")
  }

  var domainPrefix: String { "caravan-\((project as NSString).lastPathComponent)-default-" }

  func killed(_ wasKilled: Bool, _ what: String, _ delay: Double) {
    if wasKilled { kills += 1 }
    print(
      "fault injection: \(what) \(wasKilled ? "killed" : "finished before the kill") (\(String(format: "%.2f", delay)) s)"
    )
  }

  /// Runs `args` and SIGKILLs it after `delay` seconds; false when it ended first.
  func killAfter(_ delay: Double, _ args: [String]) throws -> Bool {
    let process = try h.spawn(args, in: args.first == "box" ? h.root : project, log: h.root + "/killed.log")
    let deadline = Date().addingTimeInterval(delay)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    return kill9(process)
  }

  /// Runs `args` with an events file and SIGKILLs it `delay` seconds after `step` starts.
  func killWhen(step: String, after delay: Double, _ args: [String]) throws -> Bool {
    let events = h.root + "/events-\(kills).jsonl"
    let process = try h.spawn(args + ["--events", events], in: project, log: h.root + "/killed.log")
    let marker = "\"phase\":\"start\""
    while process.isRunning {
      let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
      if text.split(separator: "\n").contains(where: { $0.contains("\"step\":\"\(step)\"") && $0.contains(marker) }) {
        break
      }
      Thread.sleep(forTimeInterval: 0.01)
    }
    Thread.sleep(forTimeInterval: delay)
    return kill9(process)
  }

  /// `up` (or `command`) with CARAVAN_FAULT_INJECT: caravan kills itself at that step.
  func inject(_ point: String, _ command: String...) throws -> Bool {
    let out = try h.run(
      [Harness.binary] + (command.isEmpty ? h.upCommand : command), in: project,
      environment: ["CARAVAN_FAULT_INJECT": point])
    return out.status == 128 + 9 || out.status == 9
  }

  /// From a first `up` killed before its provisioners: a hard power-off right after each
  /// provisioner is recorded loses none of its work, and none is run again. After the
  /// first, the power-off is `destroy -f`'s, killed once it has powered the guest off
  /// (its libvirt destroy, as `virsh destroy`); after the second, `virsh destroy`.
  func provisionedWorkSurvivesHardPowerOffs() throws {
    let started = Date()
    defer {
      print("fault injection: the hard power-offs after each record took \(Int(Date().timeIntervalSince(started))) s")
    }
    let domain = try #require(
      try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        .first { $0.hasPrefix(domainPrefix) })
    // The machine runs, its first `up` unfinished: this `up` runs `mark`, records it, and is killed.
    try #require(try inject("provisioned:end"), "up killed right after recording 'mark'")
    try #require(try inject("power_off:end", "destroy", "-f"), "destroy -f killed after its power-off")
    kills += 2
    #expect(try h.caravan("status", in: project).stdout.contains("poweroff"))
    // `up` again, no destroy: it boots, finds `mark` done, runs `payload`, records it, is killed.
    try #require(try inject("provisioned:end"), "up killed right after recording 'payload'")
    _ = try Harness.virsh("destroy", domain)
    kills += 1
    let up = try h.caravan("up", in: project)
    try #require(up.status == 0, "\(up)")
    #expect(!up.stdout.contains("running provisioner"), "a recorded provisioner ran again: \(up)")
    let files = try h.caravan("ssh", "-c", "wc -l < /var/tmp/marks; cat /var/tmp/payload.txt", in: project)
    #expect(
      files.status == 0 && files.stdout == "1\npayload of \((project as NSString).lastPathComponent)\n",
      "each provisioner's work is on the disk, once: \(files)")
    try getsIn(provisionedOnce: true)
  }

  private func kill9(_ process: Process) -> Bool {
    guard process.isRunning else { return false }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return true
  }

  /// After a kill: `up` succeeds, `ssh` gets in and sees the Machinefile's hostname.
  func getsIn(provisionedOnce: Bool) throws {
    let up = try h.up(in: project)
    try #require(up.status == 0, "up after a kill: \(up)\n\(log())")
    let ssh = try h.caravan(
      "ssh", "-c", "cat /etc/hostname; test -s /var/tmp/payload.txt && echo payload; wc -l < /var/tmp/marks",
      in: project)
    try #require(ssh.status == 0, "ssh after a kill: \(ssh)")
    let lines = ssh.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "faults.local", "\(ssh)")
    #expect(lines.dropFirst().first == "payload", "the file provisioner's copy is there: \(ssh)")
    if provisionedOnce { #expect(lines.last == "1", "the once provisioner ran once: \(ssh)") }
  }

  /// One `destroy -f` leaves no domain, volume, state, key copy, staging folder or listening port.
  func destroyLeavesNothing() throws {
    let port = (try? portOfMachine()) ?? nil
    let destroy = try h.caravan("destroy", "-f", in: project)
    try #require(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domainPrefix), "a domain is left")
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!volumes.contains(domainPrefix), "a volume is left: \(volumes)")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"), "state is left")
    let copies = (try? FileManager.default.contentsOfDirectory(atPath: h.home + "/keys/machines")) ?? []
    #expect(!copies.contains { $0.hasPrefix(domainPrefix) }, "a key copy is left: \(copies)")
    let staging = try partialDownloads()
    #expect(staging.isEmpty, "staging is left: \(staging)")
    // The machine's port is free again: nothing of this machine listens on it. (Another test's
    // guest, booting at the same time, may take the freed port at once: that one is not ours.)
    if let port {
      let holder = Faults.listener(port)
      #expect(
        holder.map { !$0.contains("guest=" + domainPrefix) } ?? true, "port \(port) is still held: \(holder ?? "")")
    }
    #expect(
      Faults.qemuCommandLines().allSatisfy { !$0.contains("guest=" + domainPrefix) }, "a QEMU of the machine runs")
  }

  func portOfMachine() throws -> Int? {
    let path = project + "/.caravan/machines/default/state.json"
    guard let data = FileManager.default.contents(atPath: path),
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return object["sshPort"] as? Int
  }

  func partialDownloads() throws -> [String] {
    let boxes = h.home + "/boxes"
    guard let walker = FileManager.default.enumerator(atPath: boxes) else { return [] }
    return walker.compactMap { $0 as? String }.filter {
      ($0 as NSString).lastPathComponent.hasPrefix(".libvirt.partial")
    }
  }

  /// The command line of the process listening on 127.0.0.1:`port` (from `ss -ltnp`), "" when
  /// it cannot be read, nil when nothing listens.
  static func listener(_ port: Int) -> String? {
    guard listening(port) else { return nil }
    let ss = try? Harness.exec(
      ["ss", "-Hltnp", "sport = :\(port)"], in: "/", environment: ProcessInfo.processInfo.environment)
    guard let text = ss?.stdout, let range = text.range(of: "pid=") else { return "" }
    let pid = text[range.upperBound...].prefix { $0.isNumber }
    return qemuCommandLine(pid: String(pid)) ?? ""
  }

  static func qemuCommandLine(pid: String) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
    return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
  }

  /// Every running QEMU's command line.
  static func qemuCommandLines() -> [String] {
    let pids =
      (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { $0.allSatisfy(\.isNumber) } ?? []
    return pids.compactMap { qemuCommandLine(pid: $0) }.filter { $0.contains("qemu-system") }
  }

  static func listening(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  func log() -> String { (try? String(contentsOfFile: h.root + "/killed.log", encoding: .utf8)) ?? "" }

  func cleanUp() {
    _ = try? h.caravan("destroy", "-f", in: project)
    h.cleanUp()
  }
}

/// A small deterministic generator (SplitMix64), so a seed replays a run.
struct SeededRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func next(in range: ClosedRange<Double>) -> Double {
    range.lowerBound + Double(next() >> 11) / Double(1 << 53) * (range.upperBound - range.lowerBound)
  }
}
