import Boxes
import Foundation
import Spec
import Support

/// A project: the folder holding the Machinefile, its `.caravan/` state folder
/// and the parsed spec.
public struct Project: Sendable {
  public var root: String
  public var machinefilePath: String
  public var spec: ProjectSpec

  public init(root: String, machinefilePath: String, spec: ProjectSpec) {
    self.root = root
    self.machinefilePath = machinefilePath
    self.spec = spec
  }

  public var stateDirectory: String { root + "/.caravan" }
  public func machineDirectory(_ name: String) -> String { stateDirectory + "/machines/" + name }
  public func recordPath(_ name: String) -> String { machineDirectory(name) + "/state.json" }
  public func keyPath(_ name: String) -> String { machineDirectory(name) + "/id_ed25519" }

  /// A short stable id of the project folder, so two projects in folders of the
  /// same name get different domains.
  public var id: String { StableHash.hex(root, length: 6) }

  /// The project folder's name as libvirt names may hold it: at most 24 letters,
  /// digits, `-` and `_` (others become `-`); `project` when nothing is left.
  public var shortName: String {
    let folder = (root as NSString).lastPathComponent
    let cleaned = String(folder.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(24))
    return cleaned.isEmpty ? "project" : cleaned
  }

  /// `caravan-<folder>-<machine>-<id>`: recognisable in `virsh list`, unique per project.
  public func domainName(for machine: String) -> String {
    "caravan-\(shortName)-\(machine)-\(id)"
  }

  public func loadRecord(_ name: String) throws -> MachineRecord? {
    let path = recordPath(name)
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    do {
      return try JSONDecoder().decode(MachineRecord.self, from: data)
    } catch {
      throw CaravanError(
        .io, "the state file '\(path)' is damaged: \(error)",
        hint: "libvirt still knows the machine; remove the file and run `caravan destroy \(name)` to start over.",
        cause: error)
    }
  }

  public func saveRecord(_ record: MachineRecord, for name: String) throws {
    try FileSystem.makeDirectory(machineDirectory(name), mode: 0o700)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileSystem.writeAtomically(try encoder.encode(record), to: recordPath(name))
  }

  /// Forgets what `.caravan/` remembers of a machine but keeps its key: the
  /// key is never deleted automatically (a disk left behind may still only
  /// accept it). `destroy` removes everything with `removeMachineState`.
  public func forgetRecord(_ name: String) throws {
    guard FileSystem.exists(recordPath(name)) else { return }
    guard unlink(recordPath(name)) == 0 else { throw FileSystem.ioError("remove", recordPath(name)) }
  }

  public func removeMachineState(_ name: String) throws {
    try FileSystem.removeTree(machineDirectory(name))
    let machines = stateDirectory + "/machines"
    if (try? FileManager.default.contentsOfDirectory(atPath: machines))?.isEmpty == true {
      try? FileManager.default.removeItem(atPath: machines)
    }
  }

  /// Machines a command acts on: the names given (each must exist) or
  /// `/regex/` patterns (each must match one at least), in file order; else all.
  public func machines(named names: [String]) throws -> [MachineSpec] {
    if names.isEmpty { return spec.machines }
    var chosen = Set<String>()
    for name in names {
      let matching = try machines(matching: name)
      guard !matching.isEmpty else {
        let known = spec.machines.map(\.name).joined(separator: ", ")
        let what = name.count > 2 && name.hasPrefix("/") && name.hasSuffix("/") ? "matching \(name)" : "named '\(name)'"
        throw CaravanError(
          .invalidInput, "no machine \(what) in \(machinefilePath)", hint: "Machines defined there: \(known).")
      }
      chosen.formUnion(matching.map(\.name))
    }
    return spec.machines.filter { chosen.contains($0.name) }
  }

  /// `NAME`, or every machine whose name `/REGEX/` matches (anywhere in the
  /// name, as Vagrant's `=~`; anchor with ^ and $ for the whole name).
  func machines(matching target: String) throws -> [MachineSpec] {
    guard target.count > 2, target.hasPrefix("/"), target.hasSuffix("/") else {
      return spec.machine(named: target).map { [$0] } ?? []
    }
    let pattern = String(target.dropFirst().dropLast())
    let regex: NSRegularExpression
    do {
      regex = try NSRegularExpression(pattern: pattern)
    } catch {
      throw CaravanError(
        .invalidInput, "'\(target)' is not a valid regular expression: \(error.localizedDescription)",
        hint: "Write a machine name, or a pattern between slashes like /web-\\d+/.")
    }
    return spec.machines.filter {
      regex.firstMatch(in: $0.name, range: NSRange($0.name.startIndex..., in: $0.name)) != nil
    }
  }
}
