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
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "caravan-verify", environment: environment)
    defer { try? FileSystem.removeTree(scratch) }
    let isFile = FileSystem.exists(FileSystem.absolute(source))
    let store =
      isFile ? BoxStore(root: scratch + "/boxes") : BoxStore(root: CaravanPaths.boxes(environment: environment))
    var points: [Point] = []
    func pass(_ name: String, _ detail: String) {
      points.append(Point(name: name, detail: detail))
      log.step("verify", "\(name): ok (\(detail))")
    }
    func fail(_ name: String, _ error: Error) -> CaravanError {
      let reason = (error as? CaravanError).map { $0.message + ($0.hint.map { "\n" + $0 } ?? "") } ?? "\(error)"
      return CaravanError(
        .guest, "box verify: '\(name)' failed for \(source): \(reason)",
        hint: points.isEmpty ? nil : "Passed before it: " + points.map(\.name).joined(separator: ", ") + ".")
    }

    // 1. Format and metadata.
    let box: InstalledBox
    do {
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
      pass(
        "format and metadata",
        "provider \(box.metadata.provider), \(box.metadata.disks.count) qcow2 disk(s)"
          + (box.metadata.virtualSizeGB.map { ", virtual_size \($0) GB" } ?? ""))
    } catch {
      throw fail("format and metadata", error)
    }

    // 2. Boot and SSH with the insecure key, on a scratch machine.
    var machine = MachineSpec(name: "verify")
    machine.box = BoxRequirement(name: box.name, version: try? VersionConstraint(parsing: "= " + box.version))
    machine.ssh.insertKey = false
    machine.bootTimeoutSeconds = bootTimeoutSeconds
    machine.memoryBytes = 1 << 30
    let project = Project(
      root: scratch + "/project", machinefilePath: scratch + "/project/Machinefile",
      spec: ProjectSpec(machines: [machine]))
    try FileSystem.makeDirectory(project.root)
    let hypervisor = try LibvirtHypervisor(uri: uri, lockDirectory: home + "/locks")
    let reporter = LogReporter(log: log)
    let lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor, communicators: OpenSSHFactory(keyDirectory: scratch + "/keys"),
      provisioners: GuestProvisioner(), boxes: store, reporter: reporter, environment: environment)
    defer {
      try? lifecycle.destroy([machine])
      if isFile { _ = try? store.remove(box, volumes: hypervisor, force: true) }
    }
    let communicator: Communicator
    do {
      try lifecycle.up([machine], options: UpOptions(provision: false))
      let record = try lifecycle.runningRecord(machine, for: "verify")
      var endpoint = try lifecycle.endpoint(for: machine, record: record, shared: false)
      endpoint.identityFiles = try OpenSSHFactory(keyDirectory: scratch + "/keys").insecureKeyFiles()
      communicator = OpenSSHFactory(keyDirectory: scratch + "/keys").communicator(for: endpoint)
      let who = try communicator.run("id -un", what: "id -un").trimmingCharacters(in: .whitespacesAndNewlines)
      pass("boots, SSH with the insecure key", "logged in as \(who) on port \(record.sshPort)")
    } catch {
      throw fail("boots, SSH with the insecure key", consoleExplained(error, hypervisor: hypervisor, project: project))
    }

    // 3. Passwordless sudo.
    do {
      let root = try communicator.run("sudo -n id -u", what: "sudo -n id -u")
        .trimmingCharacters(in: .whitespacesAndNewlines)
      guard root == "0" else {
        throw CaravanError(.guest, "`sudo -n id -u` printed '\(root)', not 0")
      }
      pass("passwordless sudo", "sudo -n runs as root")
    } catch {
      throw fail("passwordless sudo", error)
    }

    // 4. A DHCP address on the first NIC.
    do {
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
      pass("DHCP address on the first NIC", "\(first) \(address)")
    } catch {
      throw fail("DHCP address on the first NIC", error)
    }
    communicator.close()
    return points
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
