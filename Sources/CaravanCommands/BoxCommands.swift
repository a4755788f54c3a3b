import ArgumentParser
import Boxes
import Core
import Foundation
import LibvirtDriver
import Machinefile

struct BoxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "box", abstract: "Manage base boxes.",
    subcommands: [BoxAdd.self, BoxList.self, BoxRemove.self, BoxPrune.self, BoxOutdated.self, BoxUpdate.self])
}

/// Box layer errors become Caravan errors with the same words.
func boxErrors<T>(_ body: () throws -> T) throws -> T {
  do { return try body() } catch let error as BoxError {
    throw CaravanError(.invalidInput, error.message, hint: error.hint, cause: error)
  }
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
      bearer token, resume a cut connection, and are checked against the catalog's checksum or --checksum.
      """)

  @Argument(help: "A box name, a catalog or box URL, or a file.") var first: String
  @Argument(help: "The box file or URL, when the first argument is its name.") var second: String?
  @Option(help: "The name to install the box under.") var name: String?
  @Option(name: .customLong("box-version"),
    help: "For a catalog: a constraint like '~> 12.0'. For a box file or URL: the version to record (default 0).")
  var version: String?
  @Option(help: "Expected checksum, TYPE:HEX (md5, sha1, sha256, sha384, sha512).") var checksum: String?
  @Flag(help: "Replace the box version if it is installed.") var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let source = second ?? first
    let boxName = second == nil ? name : (name ?? first)
    let resolved = BoxInstallerSource.resolve(source)
    let box = try boxErrors {
      try makeInstaller(store).add(BoxInstaller.Request(
        source: resolved, name: boxName, version: version,
        checksum: try checksum.map { try Checksum(parsing: $0) }, force: force))
    }
    print("box '\(box.name)' (version \(box.version), libvirt) added")
  }
}

enum BoxInstallerSource {
  /// A relative path that exists is made absolute; URLs and names stay as they are.
  static func resolve(_ source: String) -> String {
    FileManager.default.fileExists(atPath: source)
      ? FileSystem.resolve(source, relativeTo: FileManager.default.currentDirectoryPath) : source
  }
}

struct BoxList: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed boxes.")

  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let boxes = try boxErrors { try BoxStore(root: CaravanPaths.boxes()).list() }
    if json {
      let rows = boxes.map { ["name": $0.name, "version": $0.version, "provider": "libvirt", "path": $0.directory] }
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
      print("\(box.name.padding(toLength: width, withPad: " ", startingAt: 0))(libvirt, \(box.version))")
    }
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
  @Flag(help: "Remove from the store even when a machine uses it (its pool volume stays until that machine is destroyed).")
  var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    var matches = try boxErrors { try store.list() }.filter { $0.name == name }
    guard !matches.isEmpty else {
      throw CaravanError(.notFound, "box '\(name)' is not installed", hint: "`caravan box list` shows the installed boxes.")
    }
    if let version { matches = matches.filter { $0.version == version } }
    guard !matches.isEmpty else {
      throw CaravanError(.notFound, "box '\(name)' has no version '\(version ?? "")'",
        hint: "Installed versions: \(try store.list().filter { $0.name == name }.map(\.version).joined(separator: ", ")).")
    }
    if matches.count > 1 && !all {
      throw CaravanError(.invalidInput, "box '\(name)' has \(matches.count) versions (\(matches.map(\.version).joined(separator: ", ")))",
        hint: "Choose one with --box-version, or remove them all with --all.")
    }
    let hypervisor = try boxHypervisor()
    for box in matches {
      try BoxRemoval.remove(box, store: store, hypervisor: hypervisor, force: force)
    }
  }
}

enum BoxRemoval {
  /// Removes a box version and its pool volume; a box a machine uses is refused
  /// by name, or with `force` leaves the store but keeps its volume for the machine.
  static func remove(_ box: InstalledBox, store: BoxStore, hypervisor: Hypervisor, force: Bool) throws {
    let users = try hypervisor.machinesUsing(box: box)
    if !users.isEmpty && !force {
      throw CaravanError(.conflict, "box '\(box.name)' (\(box.version)) is used by machine \(users.joined(separator: ", "))",
        hint: "Destroy the machine first (`caravan destroy` in its project), or add --force to remove the box but keep its disk image for the machine.")
    }
    if users.isEmpty { try hypervisor.removeBoxVolume(box) }
    try store.remove(box)
    print(users.isEmpty
      ? "box '\(box.name)' (version \(box.version)) removed, with its storage pool volume"
      : "box '\(box.name)' (version \(box.version)) removed; its pool volume stays while \(users.joined(separator: ", ")) uses it")
  }
}

struct BoxPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove every version of each box but the newest.")

  @Flag(name: .customLong("dry-run"), help: "Only say what would be removed.") var dryRun = false
  @Flag(name: .customLong("keep-active-boxes"), help: "Keep old versions that machines use.") var keepActive = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let boxes = try boxErrors { try store.list() }
    let hypervisor = try boxHypervisor()
    var removed = 0
    for name in Set(boxes.map(\.name)).sorted() {
      let versions = boxes.filter { $0.name == name }
      for box in versions.dropLast() {
        let users = try hypervisor.machinesUsing(box: box)
        if !users.isEmpty && keepActive {
          print("keeping box '\(box.name)' (\(box.version)): used by \(users.joined(separator: ", "))")
          continue
        }
        removed += 1
        if dryRun {
          print("would remove box '\(box.name)' (\(box.version))\(users.isEmpty ? "" : ", used by \(users.joined(separator: ", "))")")
        } else {
          try BoxRemoval.remove(box, store: store, hypervisor: hypervisor, force: true)
        }
      }
    }
    if removed == 0 { print("Nothing to prune: each box has one version\(keepActive ? " (or its old ones are in use)" : "").") }
  }
}

struct BoxOutdated: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outdated", abstract: "Say whether this project's boxes (or, with --global, all boxes) have newer versions.")

  @Flag(help: "Check every installed box.") var global = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let installer = BoxInstaller(store: store)
    for target in try BoxTargets.resolve(global: global, store: store) {
      guard let catalog = target.catalog else {
        print("box '\(target.name)': no catalog known (added from a file or URL), cannot check")
        continue
      }
      let current = try boxErrors { try store.list() }.filter { $0.name == target.name }.last?.version ?? "0"
      let newer = try boxErrors { try installer.catalog(at: catalog) }.newer(than: current, constraint: target.constraint)
      if let newest = newer.first {
        print("box '\(target.name)' is outdated: \(current) installed, \(newest.version) available. `caravan box update\(global ? " --box \(target.name)" : "")` adds it.")
      } else {
        print("box '\(target.name)' (\(current)) is up to date")
      }
    }
  }
}

struct BoxUpdate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update", abstract: "Add the newest version of this project's boxes (or of --box NAME) from their catalog.")

  @Option(help: "Update this box instead of the project's.") var box: String?

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let installer = makeInstaller(store)
    let targets = try BoxTargets.resolve(global: false, store: store, only: box)
    for target in targets {
      guard let catalog = target.catalog else {
        throw CaravanError(.notFound, "box '\(target.name)' has no known catalog, so there is nothing to update from",
          hint: "Boxes added from a file or URL are updated by adding the new file: `caravan box add \(target.name) FILE --box-version V`.")
      }
      let added = try boxErrors {
        try installer.add(BoxInstaller.Request(source: catalog, name: target.name, version: target.constraint?.description))
      }
      print("box '\(added.name)' is at version \(added.version); machines made from older versions keep theirs until destroyed")
    }
  }
}

/// Which boxes `outdated` and `update` look at, with their catalog and constraint.
struct BoxTargets {
  var name: String
  var catalog: String?
  var constraint: VersionConstraint?

  static func resolve(global: Bool, store: BoxStore, only: String? = nil) throws -> [BoxTargets] {
    if let only { return [BoxTargets(name: only, catalog: store.catalogURL(name: only), constraint: nil)] }
    if global {
      return try boxErrors { try store.list() }.map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        .map { BoxTargets(name: $0, catalog: store.catalogURL(name: $0), constraint: nil) }
    }
    let context = try Context()
    var seen = Set<String>()
    return try context.project.spec.machines.compactMap(\.box).filter { seen.insert($0.name).inserted }.map { wanted in
      let catalog = wanted.url.flatMap { $0.hasSuffix(".json") ? $0 : nil } ?? store.catalogURL(name: wanted.name)
      return BoxTargets(name: wanted.name, catalog: catalog,
        constraint: try boxErrors { try wanted.version.map { try VersionConstraint(parsing: $0) } })
    }
  }
}
