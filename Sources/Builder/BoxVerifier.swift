// `caravan box verify FILE|NAME`: the box contract, checked on a real guest. The box's
// format and metadata; it boots and answers SSH as `vagrant` with Vagrant's insecure key;
// sudo needs no password; the first NIC got its address by DHCP. Each point is reported
// by name; the first that fails ends the check and is named in the error.

import Boxes
import Core
import Foundation
import Host
import LibvirtDriver
import Provisioning
import SSH
import Spec
import Support

public struct BoxVerifier {
  public struct Point: Sendable {
    public var name: String
    public var detail: String
  }

  let environment: [String: String]
  let uri: String
  let home: String
  let log: BuildLog

  public init(environment: [String: String], uri: String, home: String, log: BuildLog = BuildLog()) {
    self.environment = environment
    self.uri = uri
    self.home = home
    self.log = log
  }

  /// Verifies a box file (added to a scratch store for the check and removed after, pool
  /// volume included) or an installed box by name (left as it is).
  public func verify(_ source: String, bootTimeoutSeconds: Double = 300) throws -> [Point] {
    let scratch = try ThrowawayProject(prefix: "caravan-verify", environment: environment)
    defer { scratch.remove() }
    let isFile = FileSystem.exists(FileSystem.absolute(source))
    let store =
      isFile
      ? BoxStore(root: scratch.folder + "/boxes") : BoxStore(root: CaravanPaths.boxes(environment: environment))
    let checklist = Checklist(source: source, log: log)

    // 1. Format and metadata.
    let box = try checklist.check("format and metadata") { try formatAndMetadata(source, isFile: isFile, store: store) }

    // 2. Boot and SSH with the insecure key, on a scratch machine.
    let machine = BoxVerifier.machine(for: box, bootTimeoutSeconds: bootTimeoutSeconds)
    let keys = scratch.folder + "/keys"
    let hypervisor = try LibvirtHypervisor(uri: uri, lockDirectory: home + "/locks")
    let (project, lifecycle) = try scratch.lifecycle(
      for: machine, in: "project", hypervisor: hypervisor, boxes: store, keyDirectory: keys,
      reporter: LogReporter(log: log), environment: environment)
    defer {
      try? lifecycle.destroy([machine])
      if isFile { _ = try? store.remove(box, volumes: hypervisor, force: true) }
    }
    let communicator = try checklist.check("boots, SSH with the insecure key") {
      do {
        return try BoxVerifier.logIn(machine, lifecycle: lifecycle, keyDirectory: keys)
      } catch {
        throw consoleExplained(error, hypervisor: hypervisor, project: project)
      }
    }

    // 3. Passwordless sudo.
    try checklist.check("passwordless sudo") { try BoxVerifier.checkSudo(on: communicator) }

    // 4. A DHCP address on the first NIC.
    try checklist.check("DHCP address on the first NIC") { try BoxVerifier.checkDHCP(on: communicator) }
    communicator.close()
    return checklist.points
  }

  /// Point 1: the box file added to the scratch `store`, or the installed box found;
  /// its provider and disks checked.
  private func formatAndMetadata(_ source: String, isFile: Bool, store: BoxStore) throws -> (
    result: InstalledBox, detail: String
  ) {
    let box: InstalledBox
    if isFile {
      let installer = BoxInstaller(store: store, environment: environment)
      installer.onStep = { _ in }
      box = try installer.add(
        BoxInstaller.Request(
          source: FileSystem.absolute(source), name: "caravan-verify/box-\(getpid())", version: "0"))
    } else {
      guard let found = try store.find(name: source) else {
        throw CaravanError(
          .notFound, "no box named '\(source)' is installed and no such file exists",
          hint: "Give a .box file or a name from `caravan box list`.")
      }
      box = found
    }
    try checkDisks(of: box)
    return (
      box,
      "provider \(box.metadata.provider), \(box.metadata.disks.count) qcow2 disk(s)"
        + (box.metadata.virtualSizeGB.map { ", virtual_size \($0) GB" } ?? "")
    )
  }

  /// The scratch machine: this box version, its insecure key kept, 1 GiB.
  static func machine(for box: InstalledBox, bootTimeoutSeconds: Double) -> MachineSpec {
    var machine = MachineSpec(name: "verify")
    machine.box = BoxRequirement(name: box.name, version: try? VersionConstraint(parsing: "= " + box.version))
    machine.ssh.insertKey = false
    machine.bootTimeoutSeconds = bootTimeoutSeconds
    machine.memoryBytes = 1 << 30
    return machine
  }

  /// Point 2: the machine up, and a login with Vagrant's insecure key.
  static func logIn(_ machine: MachineSpec, lifecycle: Lifecycle, keyDirectory: String) throws -> (
    result: Communicator, detail: String
  ) {
    try lifecycle.up([machine], options: UpOptions(provision: false))
    let record = try lifecycle.runningRecord(machine, for: "verify")
    var endpoint = try lifecycle.endpoint(for: machine, record: record, shared: false)
    endpoint.identityFiles = try OpenSSHFactory(keyDirectory: keyDirectory).insecureKeyFiles()
    let communicator = OpenSSHFactory(keyDirectory: keyDirectory).communicator(for: endpoint)
    let who = try communicator.run("id -un", what: "id -un").trimmingCharacters(in: .whitespacesAndNewlines)
    return (communicator, "logged in as \(who) on port \(record.sshPort)")
  }

  /// Point 3: sudo runs as root without a password.
  static func checkSudo(on communicator: Communicator) throws -> String {
    let root = try communicator.run("sudo -n id -u", what: "sudo -n id -u")
      .trimmingCharacters(in: .whitespacesAndNewlines)
    guard root == "0" else {
      throw CaravanError(.guest, "`sudo -n id -u` printed '\(root)', not 0")
    }
    return "sudo -n runs as root"
  }

  /// Point 4: the first NIC has an address from DHCP.
  static func checkDHCP(on communicator: Communicator) throws -> String {
    let links = try communicator.run("ip -o link show", what: "ip -o link show")
    guard let first = BoxVerifier.firstNIC(inLinks: links) else {
      throw CaravanError(.guest, "the guest has no network interface besides lo")
    }
    let addresses = try communicator.run("ip -4 -o addr show dev \(first)", what: "ip -4 addr show")
    guard let address = BoxVerifier.dynamicAddress(in: addresses) else {
      throw CaravanError(
        .guest, "the first NIC \(first) has no DHCP (dynamic) IPv4 address: \(addresses)",
        hint: "The box must configure DHCP on its first NIC (templates/scripts/network.sh does).")
    }
    return "\(first) \(address)"
  }

  /// A boot or SSH failure with what the scratch machine's serial console shows (`BootConsole`);
  /// the log, kept by the failed `up`, is removed once read.
  private func consoleExplained(_ error: Error, hypervisor: LibvirtHypervisor, project: Project) -> Error {
    guard var failure = error as? CaravanError, uri.hasPrefix("qemu:///") else { return error }
    let log = hypervisor.consoleLogPath(domain: project.domainName(for: "verify"))
    defer { try? FileManager.default.removeItem(atPath: log) }
    failure.hint = BootConsole.report(logPath: log)
    return failure
  }

  private func checkDisks(of box: InstalledBox) throws {
    guard box.metadata.provider == "libvirt" else {
      throw CaravanError(.invalidInput, "metadata.json names provider '\(box.metadata.provider)', not libvirt")
    }
    for index in box.metadata.disks.indices {
      let path = box.imagePath(disk: index)
      let info = try Subprocess(["qemu-img", "info", "--output=json", path]).run()
      guard info.status == 0, info.stdout.contains("\"format\": \"qcow2\"") else {
        throw CaravanError(
          .invalidInput, "disk \(box.metadata.disks[index]) is not a qcow2 image",
          hint: info.stderr.isEmpty ? "qemu-img info says: \(info.stdout.prefix(200))" : info.stderr)
      }
    }
  }

  /// The first interface of `ip -o link show` that is not loopback.
  static func firstNIC(inLinks output: String) -> String? {
    for line in output.split(separator: "\n") {
      let fields = line.split(separator: ":", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
      guard fields.count >= 2, !line.contains("LOOPBACK") else { continue }
      return String(fields[1].split(separator: "@").first ?? "")
    }
    return nil
  }

  /// `10.0.2.15/24` from an `ip -4 -o addr show` line marked `dynamic`.
  static func dynamicAddress(in output: String) -> String? {
    for line in output.split(separator: "\n") where line.contains(" dynamic") {
      let words = line.split(separator: " ")
      if let index = words.firstIndex(of: "inet"), index + 1 < words.count { return String(words[index + 1]) }
    }
    return nil
  }
}

extension BoxVerifier {
  /// The points of one verification, each logged as it passes; a failure names the
  /// point, and the points passed before it.
  final class Checklist {
    let source: String
    let log: BuildLog
    private(set) var points: [Point] = []

    init(source: String, log: BuildLog) {
      self.source = source
      self.log = log
    }

    /// Runs one point: what `body` returns is its result and what the log says of it.
    func check<Value>(_ name: String, _ body: () throws -> (result: Value, detail: String)) throws -> Value {
      let outcome: (result: Value, detail: String)
      do { outcome = try body() } catch { throw failure(name, error) }
      points.append(Point(name: name, detail: outcome.detail))
      log.step("verify", "\(name): ok (\(outcome.detail))")
      return outcome.result
    }

    /// A point with no result: `body` returns what the log says of it.
    func check(_ name: String, _ body: () throws -> String) throws {
      try check(name) { ((), try body()) }
    }

    private func failure(_ name: String, _ error: Error) -> CaravanError {
      let reason = (error as? CaravanError).map { $0.message + ($0.hint.map { "\n" + $0 } ?? "") } ?? "\(error)"
      return CaravanError(
        .guest, "box verify: '\(name)' failed for \(source): \(reason)",
        hint: points.isEmpty ? nil : "Passed before it: " + points.map(\.name).joined(separator: ", ") + ".")
    }
  }
}
