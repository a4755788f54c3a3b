import Foundation
import Spec
import Support

/// What knows which machines' disks depend on a box's pool volumes, and can
/// delete them: the hypervisor driver. The store asks it before removing a box.
public protocol BoxVolumes: AnyObject {
  /// Machines ("web (/path/to/project)") whose disks are backed by the box's volumes.
  func machinesUsing(box: InstalledBox) throws -> [String]
  /// Deletes the box's pool volumes; false when there were none to delete.
  @discardableResult func removeBoxVolume(_ box: InstalledBox) throws -> Bool
}

extension BoxStore {
  /// The lock file that keeps `box remove` and `up` of one box version apart.
  func useLockPath(for box: InstalledBox) -> String { useLockPath(name: box.name, version: box.version) }

  func useLockPath(name: String, version: String) -> String {
    "\(lockDirectory)/box-use-\(BoxStore.escape(name))-\(version).lock"
  }

  /// A shared "box use" lock on `box`, for `up` to hold from choosing the box
  /// version until its domain is defined (from then on libvirt names the box
  /// in the domain, and `machinesUsing` sees it). `box remove` and `box
  /// prune` take it exclusively, so they wait for such an `up` and then see
  /// its machine; any number of `up`s share it. When a removal is running,
  /// says `waitNotice` (if given) and waits. Throws when the box was removed
  /// just before the lock was taken.
  public func useLock(for box: InstalledBox, waitNotice: ((String) -> Void)? = nil) throws -> FileLock {
    let lock = try FileLock(
      path: useLockPath(for: box), shared: true,
      waitNotice: waitNotice.map { say in
        { _ in say("box '\(box.name)' (\(box.version)) is being removed by another caravan process; waiting") }
      })
    guard FileSystem.exists(box.directory + "/metadata.json") else {
      lock.unlock()
      throw CaravanError(
        .notFound, "box '\(box.name)' (\(box.version)) was removed by another caravan process while this one chose it",
        hint: "Add it again (`caravan box add`, or `url:` on the Machinefile's box line) and run the command again.")
    }
    // `box add --force` (which takes this lock exclusively) put another image there meanwhile.
    if let digest = box.digest, let now = BoxImageDigest.recorded(in: box.directory, metadata: box.metadata),
      now != digest
    {
      lock.unlock()
      throw CaravanError(
        .conflict,
        "box '\(box.name)' (\(box.version)) was replaced by another caravan process (`box add --force`) while this one chose it",
        hint: "Run the command again: it uses the new image.")
    }
    return lock
  }
}

extension BoxStore {
  /// The versions of `name` that `box remove` acts on: `version` only, or all
  /// of them with `all`; several without either is refused.
  public func versionsToRemove(name: String, version: String?, all: Bool) throws -> [InstalledBox] {
    let installed = try list().filter { $0.name == name }
    guard !installed.isEmpty else {
      throw CaravanError(
        .notFound, "box '\(name)' is not installed", hint: "`caravan box list` shows the installed boxes.")
    }
    let matches = version.map { wanted in installed.filter { $0.version == wanted } } ?? installed
    guard !matches.isEmpty else {
      throw CaravanError(
        .notFound, "box '\(name)' has no version '\(version ?? "")'",
        hint: "Installed versions: \(installed.map(\.version).joined(separator: ", ")).")
    }
    if matches.count > 1 && !all {
      throw CaravanError(
        .invalidInput,
        "box '\(name)' has \(matches.count) versions (\(matches.map(\.version).joined(separator: ", ")))",
        hint: "Choose one with --box-version, or remove them all with --all.")
    }
    return matches
  }

  /// What `remove` did.
  public enum Removal: Equatable, Sendable {
    /// The box and its pool volumes are gone.
    case removedWithVolume
    /// The box is gone; it had no pool volume (it was never imported here).
    case removedWithoutVolume
    /// The box left the store; its pool volumes stay for the machines named.
    case keptVolume(users: [String])
  }

  /// Removes a box version and its pool volumes. A box a machine uses is
  /// refused by name, or with `force` leaves the store while its volumes stay
  /// for the machines that need them. Holds the box's use lock exclusively,
  /// so an `up` that chose this version before is waited for (`waitNotice`
  /// says so) and its machine counted, and no `up` chooses it meanwhile.
  @discardableResult
  public func remove(
    _ box: InstalledBox, volumes: BoxVolumes, force: Bool, waitNotice: ((String) -> Void)? = nil
  ) throws -> Removal {
    let lock = try FileLock(
      path: useLockPath(for: box),
      waitNotice: waitNotice.map { say in
        { _ in
          say("box '\(box.name)' (\(box.version)) is in use by a `caravan up` that is defining its machine; waiting")
        }
      })
    defer { lock.unlock() }
    guard FileSystem.exists(box.directory) else {
      throw CaravanError(
        .notFound, "box '\(box.name)' (\(box.version)) is no longer installed: another caravan process removed it",
        hint: "`caravan box list` shows the installed boxes.")
    }
    let users = try volumes.machinesUsing(box: box)
    if !users.isEmpty && !force {
      throw CaravanError(
        .conflict, "box '\(box.name)' (\(box.version)) is used by machine \(users.joined(separator: ", "))",
        hint:
          "Destroy the machine first (`caravan destroy` in its project), or add --force to remove the box but keep its disk image for the machine."
      )
    }
    guard users.isEmpty else {
      try remove(box)
      return .keptVolume(users: users)
    }
    let deleted = try volumes.removeBoxVolume(box)
    try remove(box)
    return deleted ? .removedWithVolume : .removedWithoutVolume
  }

  /// One old box version, as `box prune` sees it.
  public struct PruneCandidate: Sendable {
    public var box: InstalledBox
    /// Machines whose disks depend on it.
    public var users: [String]
    /// Kept because it is in use and `keepActive` was asked.
    public var keep: Bool
  }

  /// Every version but the newest of each box, with the machines using it.
  public func pruneCandidates(volumes: BoxVolumes, keepActive: Bool) throws -> [PruneCandidate] {
    let boxes = try list()
    var result: [PruneCandidate] = []
    for name in Set(boxes.map(\.name)).sorted() {
      for box in boxes.filter({ $0.name == name }).dropLast() {
        let users = try volumes.machinesUsing(box: box)
        result.append(PruneCandidate(box: box, users: users, keep: keepActive && !users.isEmpty))
      }
    }
    return result
  }
}
