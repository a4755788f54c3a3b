import ArgumentParser
import Boxes
import Builder
import Core
import Foundation
import Host
import LibvirtDriver
import Machinefile
import Provisioning
import SSH
import Spec
import Support

struct BoxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "box", abstract: "Manage base boxes.",
    subcommands: [
      BoxAdd.self, BoxList.self, BoxRemove.self, BoxPrune.self, BoxOutdated.self, BoxUpdate.self, BoxVerify.self,
      BoxWarm.self,
    ])
}

func makeInstaller(_ store: BoxStore) -> BoxInstaller {
  let installer = BoxInstaller(store: store)
  installer.report(to: ConsoleReporter(), as: "box")
  return installer
}

struct BoxAdd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Add a box from a catalog, a URL or a .box file.",
    discussion: """
      caravan box add NAME FILE|URL        a vagrant-libvirt .box (tar or tar.gz) under NAME
      caravan box add CATALOG_URL|FILE     a Vagrant box catalog (JSON): the newest version that fits
      caravan box add OWNER/NAME           the catalog at $CARAVAN_SERVER_URL/OWNER/NAME
      Downloads follow redirects, honour http_proxy/https_proxy/no_proxy, send CARAVAN_CLOUD_TOKEN as a \
      bearer token (only to $CARAVAN_SERVER_URL's scheme, host and port), resume a cut connection, and are \
      checked against the catalog's checksum or --checksum.
      """)

  @Argument(help: "A box name, a catalog or box URL, or a file.") var first: String
  @Argument(help: "The box file or URL, when the first argument is its name.") var second: String?
  @Option(help: "The name to install the box under.") var name: String?
  @Option(
    name: .customLong("box-version"),
    help: "For a catalog: a constraint like '~> 12.0'. For a box file or URL: the version to record (default 0).")
  var version: String?
  @Option(help: "Expected checksum, TYPE:HEX (md5, sha1, sha256, sha384, sha512).") var checksum: String?
  @Flag(
    help:
      "Replace the box version if it is installed: new machines get the new image, machines made before keep theirs.")
  var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let source = second ?? first
    let boxName = second == nil ? name : (name ?? first)
    let resolved = BoxInstallerSource.resolve(source)
    let box = try makeInstaller(store).add(
      BoxInstaller.Request(
        source: resolved, name: boxName, version: version,
        checksum: try checksum.map { try Checksum(parsing: $0) }, force: force))
    print("box '\(box.name)' (version \(box.version), libvirt) added")
    if force { replacedImageNote(box) }
  }

  /// After a replacement: the earlier image's volumes that no machine uses go
  /// now; the machines on it keep it, and are named. Only when libvirt answers.
  func replacedImageNote(_ box: InstalledBox) {
    guard let hypervisor = try? boxHypervisor(),
      let kept = try? hypervisor.removeEarlierImages(box, progress: { print($0) }), !kept.isEmpty
    else { return }
    print(
      "\(kept.joined(separator: ", ")) keeps the earlier image of box '\(box.name)' (\(box.version)); new machines get the new one (`caravan destroy` and `caravan up` a machine to move it to the new image)"
    )
  }
}

enum BoxInstallerSource {
  /// A relative path that exists is made absolute; URLs and names stay as they are.
  static func resolve(_ source: String) -> String {
    FileManager.default.fileExists(atPath: source) ? FileSystem.absolute(source) : source
  }
}

struct BoxList: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List installed boxes, with their saved warm states.")

  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let boxes = try BoxStore(root: CaravanPaths.boxes()).list()
    if json {
      let rows: [[String: Any]] = boxes.map { box in
        [
          "name": box.name, "version": box.version, "provider": "libvirt", "path": box.directory,
          "warm": WarmStateFiles.all(box).map { state -> [String: Any] in
            [
              "uri": state.uri, "pool": state.pool, "volume": state.volume, "size": state.sizeBytes,
              "memory_mib": state.fingerprint.memoryMiB, "cpus": state.fingerprint.cpus,
              "created_at": state.createdAt,
            ]
          },
        ]
      }
      let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    if boxes.isEmpty {
      print("There are no installed boxes! Use `caravan box add` to add some.")
      return
    }
    let width = (boxes.map(\.name.count).max() ?? 0) + 1
    for box in boxes {
      let warm = WarmStateFiles.all(box).map { state in
        "warm state \(state.sizeBytes >> 20) MiB (\(state.fingerprint.cpus) CPU, \(state.fingerprint.memoryMiB) MiB\(state.pool == "caravan" ? "" : ", pool \(state.pool)"))"
      }
      print(
        "\(box.name.padding(toLength: width, withPad: " ", startingAt: 0))(libvirt, \(box.version))"
          + (warm.isEmpty ? "" : "  " + warm.joined(separator: ", ")))
    }
  }
}

struct BoxWarm: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "warm",
    abstract: "Save a box's running state now, so `up --warm` starts machines of it in seconds.",
    discussion: """
      Boots the box once on a throw-away disk, saves its disk and memory as soon as its SSH answers, and \
      keeps that beside the box's storage pool volume (`box list` shows it, `box remove` deletes it). \
      Machines start from it when they have the same CPUs and memory (and machine type, CPU mode, QEMU \
      and libvirt); another size remakes it. Nothing is made again when the saved state already fits.
      """)

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "This version (default: the newest installed).")
  var version: String?
  @Option(help: ArgumentHelp("The machines' memory: 2GiB, 768M, or MiB.", valueName: "SIZE"))
  var memory: String = "1GiB"
  @Option(help: ArgumentHelp("The machines' CPUs.", valueName: "N")) var cpus: Int = 1

  func validate() throws {
    guard let bytes = parseMemorySize(memory), bytes >= 64 << 20 else {
      throw ValidationError("--memory must be a size of at least 64MiB, like 2GiB, 768M or 1024 (MiB); got '\(memory)'")
    }
    if cpus < 1 { throw ValidationError("--cpus must be 1 or more (got \(cpus))") }
  }

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let store = BoxStore(root: CaravanPaths.boxes(environment: environment))
    let installed = try store.list().filter { $0.name == name }
    guard let box = version.map({ wanted in installed.first { $0.version == wanted } }) ?? installed.last else {
      let versions = installed.map(\.version).joined(separator: ", ")
      throw CaravanError(
        .notFound, "box '\(name)'\(version.map { " version \($0)" } ?? "") is not installed",
        hint: installed.isEmpty
          ? "Add it with `caravan box add \(name) FILE.box`; `caravan box list` shows the installed boxes."
          : "Installed versions: \(versions).")
    }
    var machine = MachineSpec(name: "warm")
    machine.box = BoxRequirement(name: box.name, version: try? VersionConstraint(parsing: "= " + box.version))
    machine.cpus = cpus
    machine.memoryBytes = parseMemorySize(memory) ?? 1 << 30
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "caravan-warm")
    defer { try? FileSystem.removeTree(scratch) }
    let project = Project(
      root: scratch, machinefilePath: scratch + "/Machinefile", spec: ProjectSpec(machines: [machine]))
    let hypervisor = try boxHypervisor()
    let lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor,
      communicators: OpenSSHFactory(keyDirectory: CaravanPaths.home(environment: environment) + "/keys"),
      provisioners: GuestProvisioner(), boxes: store, reporter: ConsoleReporter(), environment: environment)
    let (state, made): (WarmState, Bool)
    do {
      (state, made) = try lifecycle.warmBox(box, machine: machine)
    } catch  where Interrupt.process.requested {
      throw Interrupt.stopped(
        "interrupted: box '\(box.name)' (version \(box.version)) has no new warm state; what the attempt made was removed"
      )
    }
    print(
      "box '\(box.name)' (version \(box.version)) \(made ? "now has" : "already has") a warm state: \(state.sizeBytes >> 20) MiB in pool '\(state.pool)' for \(state.fingerprint.cpus) CPU and \(state.fingerprint.memoryMiB) MiB"
    )
  }
}

/// The libvirt connection box commands use (no Machinefile needed).
func boxHypervisor() throws -> LibvirtHypervisor {
  try LibvirtHypervisor(uri: defaultLibvirtURI(configured: nil), lockDirectory: CaravanPaths.home() + "/locks")
}

struct BoxRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remove", abstract: "Remove a box and its storage pool volume.")

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "Only this version.") var version: String?
  @Flag(help: "Remove every version.") var all = false
  @Flag(
    help:
      "Remove from the store even when a machine uses it (its pool volume stays until that machine is destroyed).")
  var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let boxes = try store.versionsToRemove(name: name, version: version, all: all)
    let hypervisor = try boxHypervisor()
    for box in boxes {
      report(box, try store.remove(box, volumes: hypervisor, force: force, waitNotice: { print($0) }))
    }
  }
}

/// Says what `BoxStore.remove` did.
func report(_ box: InstalledBox, _ removal: BoxStore.Removal) {
  switch removal {
  case .removedWithVolume:
    print("box '\(box.name)' (version \(box.version)) removed, with its storage pool volume")
  case .removedWithoutVolume:
    print("box '\(box.name)' (version \(box.version)) removed (it had no storage pool volume)")
  case .keptVolume(let users):
    print(
      "box '\(box.name)' (version \(box.version)) removed; its pool volume stays while \(users.joined(separator: ", ")) uses it"
    )
  }
}

struct BoxPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove every version of each box but the newest.")

  @Flag(name: .customLong("dry-run"), help: "Only say what would be removed.") var dryRun = false
  @Flag(name: .customLong("keep-active-boxes"), help: "Keep old versions that machines use.") var keepActive = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let hypervisor = try boxHypervisor()
    let candidates = try store.pruneCandidates(volumes: hypervisor, keepActive: keepActive)
    for candidate in candidates {
      let box = candidate.box
      let users = candidate.users.joined(separator: ", ")
      if candidate.keep {
        print("keeping box '\(box.name)' (\(box.version)): used by \(users)")
      } else if dryRun {
        print("would remove box '\(box.name)' (\(box.version))\(users.isEmpty ? "" : ", used by \(users)")")
      } else {
        report(box, try store.remove(box, volumes: hypervisor, force: true, waitNotice: { print($0) }))
      }
    }
    if !candidates.contains(where: { !$0.keep }) {
      print("Nothing to prune: each box has one version\(keepActive ? " (or its old ones are in use)" : "").")
    }
  }
}

/// The Machinefile's machines, for box commands that act on a project's boxes.
func projectMachines() throws -> [MachineSpec] { try Context().project.spec.machines }

struct BoxOutdated: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outdated",
    abstract: "Say whether this project's boxes (or, with --global, all boxes) have newer versions.")

  @Flag(help: "Check every installed box.") var global = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let installer = BoxInstaller(store: store)
    for target in try BoxTarget.resolve(store: store, global: global, machines: projectMachines) {
      guard let check = try installer.newestVersion(of: target) else {
        print("box '\(target.name)': no catalog known (added from a file or URL), cannot check")
        continue
      }
      if let newest = check.newer {
        print(
          "box '\(target.name)' is outdated: \(check.installed) installed, \(newest) available. `caravan box update\(global ? " --box \(target.name)" : "")` adds it."
        )
      } else {
        print("box '\(target.name)' (\(check.installed)) is up to date")
      }
    }
  }
}

struct BoxUpdate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update",
    abstract: "Add the newest version of this project's boxes (or of --box NAME) from their catalog.")

  @Option(help: "Update this box instead of the project's.") var box: String?

  func run() throws {
    let installer = makeInstaller(BoxStore(root: CaravanPaths.boxes()))
    for target in try BoxTarget.resolve(store: installer.store, only: box, machines: projectMachines) {
      let added = try installer.update(target)
      print(
        "box '\(added.name)' is at version \(added.version); machines made from older versions keep theirs until destroyed"
      )
    }
  }
}

struct BoxVerify: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check a box against the box contract on a real guest.",
    discussion: """
      Checks, in order: the format and metadata; the box boots and answers SSH as its user with Vagrant's \
      insecure key; sudo needs no password; the first NIC has a DHCP address. Says which point failed. A box \
      file is added to a scratch store for the check and removed after; an installed box is left as it is.
      """)

  @Argument(help: "A .box file, or the name of an installed box.") var box: String
  @Option(help: "Seconds to wait for SSH.") var bootTimeout: Double = 300

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let verifier = BoxVerifier(
      environment: environment, uri: defaultLibvirtURI(configured: nil, environment: environment),
      home: CaravanPaths.home(environment: environment))
    let points = try verifier.verify(box, bootTimeoutSeconds: bootTimeout)
    print("\(box): meets the box contract (\(points.map(\.name).joined(separator: "; ")))")
  }
}
