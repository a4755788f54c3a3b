import Foundation
import Host
import Support

/// `$CARAVAN_HOME/index.json`: every project this user ran `up` in, for
/// `global-status`. It only says where to look: what exists and runs is always
/// asked from libvirt. Written atomically under a lock all caravan processes share.
public struct ProjectIndex: Sendable {
  public struct Machine: Codable, Equatable, Sendable {
    public var name: String
    public var domain: String
    public init(name: String, domain: String) {
      self.name = name
      self.domain = domain
    }
  }

  /// One project on one libvirt connection.
  public struct Entry: Codable, Equatable, Sendable {
    public var root: String
    public var machinefile: String
    public var libvirtURI: String
    public var machines: [Machine]
    /// When an `up` last refreshed it (ISO 8601).
    public var updatedAt: String

    public init(root: String, machinefile: String, libvirtURI: String, machines: [Machine], updatedAt: Date = Date()) {
      self.root = root
      self.machinefile = machinefile
      self.libvirtURI = libvirtURI
      self.machines = machines
      self.updatedAt = ISO8601DateFormatter().string(from: updatedAt)
    }

    func isSame(_ other: Entry) -> Bool { root == other.root && libvirtURI == other.libvirtURI }
  }

  struct File: Codable {
    var version = 1
    var projects: [Entry]
  }

  public let path: String
  let lockPath: String

  /// The index of the Caravan home `home` (`CaravanPaths.home()`).
  public init(home: String) {
    path = home + "/index.json"
    lockPath = home + "/locks/index.lock"
  }

  /// The entries, in the order they were first added; none when there is no index yet.
  public func load() throws -> [Entry] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    do {
      return try JSONDecoder().decode(File.self, from: data).projects
    } catch {
      throw CaravanError(
        .io, "the project index '\(path)' is damaged: \(error)",
        hint: "Remove it; each project's next `caravan up` adds it again.", cause: error)
    }
  }

  /// Changes the entries under the index lock and writes them back atomically.
  /// A damaged index is started afresh: it is only a list of where to look.
  public func update(_ change: (inout [Entry]) throws -> Void) throws {
    let lock = try FileLock(path: lockPath)
    defer { lock.unlock() }
    var entries = (try? load()) ?? []
    try change(&entries)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileSystem.writeAtomically(try encoder.encode(File(projects: entries)), to: path)
  }

  /// Adds `entry`, or refreshes the one of the same project folder and libvirt URI.
  public func record(_ entry: Entry) throws {
    try update { entries in
      if let index = entries.firstIndex(where: { $0.isSame(entry) }) {
        entries[index] = entry
      } else {
        entries.append(entry)
      }
    }
  }
}

extension Lifecycle {
  /// Adds (or refreshes) this project in the user's project index, for
  /// `global-status`. A failure is a warning: the machines are up.
  func recordInIndex() {
    let entry = ProjectIndex.Entry(
      root: project.root, machinefile: project.machinefilePath, libvirtURI: hypervisor.uri,
      machines: machinesOnThisHost.map { .init(name: $0.name, domain: project.domainName(for: $0.name)) })
    do {
      try ProjectIndex(home: CaravanPaths.home(environment: environment)).record(entry)
    } catch {
      reporter.warning("could not add this project to the index `caravan global-status` reads: \(error)")
    }
  }
}
