import Core
import Foundation
import Spec
import Support

/// Synced folders: `type: rsync` copied with the host's rsync over the machine's own SSH
/// connection; `type: 9p` and `type: virtiofs` shared by the domain and mounted in the guest.
public struct FolderSync: FolderSyncer {
  let environment: [String: String]

  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.environment = environment
  }

  public static let support = SettingSupport(settings: ["sync"])
  public var support: SettingSupport { FolderSync.support }

  /// 9p's message size: 256 KiB, well inside what Linux's virtio transport takes (500 KiB).
  static let ninepMessageSize = 262_144

  static func active(_ machine: MachineSpec) -> [SyncSpec] { machine.syncs.filter { !$0.disabled } }

  public func preflight(_ machine: MachineSpec, projectRoot: String) throws {
    for folder in FolderSync.active(machine) {
      let path = FileSystem.resolve(folder.source, relativeTo: projectRoot)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CaravanError(
          .notFound,
          "machine '\(machine.name)': the synced folder '\(folder.source)' is not a folder on the host (looked at \(path))",
          hint: "Create it, or fix the `sync` line; paths are relative to the folder of the Machinefile.")
      }
      switch folder.kind {
      case .rsync:
        guard FileSystem.findProgram("rsync", environment: environment) != nil else {
          throw CaravanError(
            .notFound,
            "machine '\(machine.name)': the synced folder '\(folder.summary)' needs rsync on the host, and there is none on PATH",
            hint: "Install it (Debian package `rsync`: `sudo apt-get install rsync`), or use `type: 9p`.")
        }
      case .virtiofs:
        _ = try virtiofsDaemon(for: folder, machine: machine)
      case .ninep:
        break
      }
    }
  }

  public func sharedFolders(_ machine: MachineSpec, projectRoot: String) throws -> [SharedFolder] {
    try FolderSync.active(machine).compactMap { folder in
      let path = FileSystem.resolve(folder.source, relativeTo: projectRoot)
      switch folder.kind {
      case .rsync: return nil
      case .ninep: return SharedFolder(kind: .ninep, hostPath: path, tag: FolderSync.tag(folder))
      case .virtiofs:
        let daemon = try virtiofsDaemon(for: folder, machine: machine)
        return SharedFolder(kind: .virtiofs(daemon: daemon), hostPath: path, tag: FolderSync.tag(folder))
      }
    }
  }

  public func sync(
    _ folder: SyncSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator,
    reporter: Reporter
  ) throws {
    let started = Date()
    switch folder.kind {
    case .rsync:
      try rsync(folder, machine: machine, projectRoot: projectRoot, on: communicator, reporter: reporter)
    case .ninep, .virtiofs:
      try mount(folder, machine: machine, on: communicator, reporter: reporter)
    }
    reporter.step(
      machine.name,
      String(format: "synced folder %@ in %.1f s", folder.summary, Date().timeIntervalSince(started)))
  }

  /// The mount tag of a shared folder: stable for its destination, short (virtiofs
  /// takes 36 bytes at most), made only of letters, digits and `-`.
  static func tag(_ folder: SyncSpec) -> String {
    "caravan-" + StableHash.hex(folder.destination, length: 12)
  }

}
