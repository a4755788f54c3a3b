import Boxes
import Foundation
import Host
import Libvirt
import Support

/// Caravan's storage pool: box images enter it once per box version (uploaded
/// through a libvirt stream, so remote URIs work), machine overlays live beside them.
///
/// A box volume is trusted only with its completion mark: a second, empty
/// volume `VOLUME.complete` made after the upload finished. The mark lives in
/// libvirt, beside the volume, so it is seen on remote URIs too; libvirt
/// volumes carry no metadata of their own, and a volume cannot be renamed
/// into place once complete. A box volume without its mark was left by an
/// import that was killed or failed half way, and is imported again.
struct BoxPool {
  public static let defaultName = "caravan"
  public static let markSuffix = ".complete"
  public let connection: Connection
  public let name: String

  public init(connection: Connection, name: String?) {
    self.connection = connection
    self.name = name ?? BoxPool.defaultName
  }

  /// The folder a new `dir` pool gets: libvirt's own image folder for the URI.
  func defaultPath() -> String { LibvirtFolders(uri: connection.uri).poolDirectory(name) }

  /// The pool, defined, built and started if needed. Another `up` (a thread of a
  /// parallel `up`, or another process) doing the same at the same moment is fine:
  /// whoever loses the race to define or start it uses the winner's pool.
  public func ensure() throws -> StoragePool {
    let pool: StoragePool
    if let existing = try connection.pool(named: name) {
      pool = existing
    } else {
      let xml = """
        <pool type='dir'>
          <name>\(name)</name>
          <target><path>\(defaultPath())</path></target>
        </pool>
        """
      pool = try definePool(xml)
    }
    do {
      if try !pool.isActive() { try pool.start() }
    } catch {
      if try !pool.isActive() { throw error }
    }
    return pool
  }

  /// Defines and builds the pool; when another caller defined it first, theirs.
  private func definePool(_ xml: String) throws -> StoragePool {
    do {
      let pool = try connection.definePool(xml: xml, name: name)
      try pool.build()
      try? pool.setAutostart(true)
      return pool
    } catch {
      guard let defined = try connection.pool(named: name) else { throw error }
      return defined
    }
  }

  /// The lock file of one box version's imports into this pool, whatever its
  /// image: parallel `up`s of that box import it once, an `up` after a `box add
  /// --force` waits for one still importing the image before, and an import of
  /// another box waits for nobody.
  func importLockPath(_ box: InstalledBox, lockDirectory: String) -> String {
    "\(lockDirectory)/box-import-\(name)-\(box.versionVolumePrefix).lock"
  }

  /// The pool volumes of a box version's disks (root disk first), imported now
  /// unless they are there with their completion mark. Under the box
  /// version's import lock, a volume without its mark is deleted and imported
  /// again; one that a machine uses is refused by name, never trusted. Volumes
  /// of an earlier image of the version (before a `box add --force`) that no
  /// machine uses are removed.
  public func importBox(_ box: InstalledBox, lockDirectory: String, progress: (String) -> Void) throws -> [Volume] {
    let pool = try ensure()
    let names = box.metadata.disks.indices.map { box.volumeName(disk: $0) }
    if let complete = try? completeVolumes(names, in: pool) { return complete }
    let lock = try FileLock(path: importLockPath(box, lockDirectory: lockDirectory))
    defer { lock.unlock() }
    try pool.refresh()
    var result: [Volume] = []
    for (disk, volumeName) in names.enumerated() {
      let which = names.count > 1 ? " disk \(disk + 1) of \(names.count)" : ""
      let mark = try pool.volume(named: volumeName + BoxPool.markSuffix)
      if let volume = try pool.volume(named: volumeName) {
        if mark != nil {
          result.append(volume)
          continue
        }
        let using = try users(of: [volumeName], in: pool)
        if !using.isEmpty {
          throw CaravanError(
            .conflict,
            "box '\(box.name)' (\(box.version))\(which) volume '\(volumeName)' in storage pool '\(name)' has no completion mark, so it may hold part of the image only, and \(using.joined(separator: ", ")) uses it",
            hint:
              "Destroy that machine (`caravan destroy` in its project): Caravan then imports the image again. Caravan never starts a machine on an image it cannot vouch for."
          )
        }
        progress(
          "box '\(box.name)' (\(box.version))\(which) volume '\(volumeName)' was left unfinished by an interrupted import; importing it again"
        )
        try volume.delete()
      } else if let mark {
        try mark.delete()
      }
      result.append(try upload(box, disk: disk, as: volumeName, which: which, into: pool, progress: progress))
    }
    _ = try removeEarlierImages(box, in: pool, progress: progress)
    return result
  }

  /// The volumes named, when each is there with its mark; nil otherwise.
  func completeVolumes(_ names: [String], in pool: StoragePool) throws -> [Volume]? {
    var volumes: [Volume] = []
    for volumeName in names {
      guard try pool.volume(named: volumeName + BoxPool.markSuffix) != nil,
        let volume = try pool.volume(named: volumeName)
      else { return nil }
      volumes.append(volume)
    }
    return volumes
  }

  /// Creates the volume, uploads the box's image into it, then marks it complete.
  func upload(
    _ box: InstalledBox, disk: Int, as volumeName: String, which: String, into pool: StoragePool,
    progress: (String) -> Void
  ) throws -> Volume {
    let image = box.imagePath(disk: disk)
    let fileSize = (try? FileManager.default.attributesOfItem(atPath: image)[.size] as? NSNumber)?.uint64Value ?? 0
    let virtual = disk == 0 ? UInt64(box.metadata.virtualSizeGB ?? 0) << 30 : 0
    progress(
      "importing box '\(box.name)' (\(box.version))\(which) into storage pool '\(name)' (\(fileSize >> 20) MiB)")
    let xml = """
      <volume>
        <name>\(volumeName)</name>
        <capacity unit='bytes'>\(max(virtual, fileSize))</capacity>
        <allocation unit='bytes'>0</allocation>
        <target><format type='qcow2'/></target>
      </volume>
      """
    let volume = try pool.createVolume(xml: xml, name: volumeName)
    do {
      try volume.upload(fromFile: image)
      try pool.refresh()
      try createMark(for: volumeName, in: pool)
    } catch {
      try? volume.delete()
      throw error
    }
    return try pool.volume(named: volumeName) ?? volume
  }

  func createMark(for volumeName: String, in pool: StoragePool) throws {
    let markName = volumeName + BoxPool.markSuffix
    let xml = """
      <volume>
        <name>\(markName)</name>
        <capacity unit='bytes'>0</capacity>
        <target><format type='raw'/></target>
      </volume>
      """
    _ = try pool.createVolume(xml: xml, name: markName)
  }

  /// Deletes a box version's pool volumes, whatever image they hold, marks
  /// first (so a removal cut short leaves an unmarked volume, which is never
  /// trusted). An inactive pool is started: it is Caravan's, and its volumes
  /// cannot be seen otherwise. Returns false when there was no volume to
  /// delete (also when the pool does not exist).
  @discardableResult
  public func removeBoxVolume(_ box: InstalledBox) throws -> Bool {
    guard let pool = try connection.pool(named: name) else { return false }
    if try !pool.isActive() {
      do {
        try pool.start()
      } catch {
        throw CaravanError(
          .hypervisor,
          "cannot remove the volume of box '\(box.name)' (\(box.version)): storage pool '\(name)' on \(connection.uri) is inactive and does not start: \((error as? CaravanError)?.message ?? "\(error)")",
          hint:
            "Start it (`virsh -c \(connection.uri) pool-start \(name)`) and run the removal again; the box stays installed until then.",
          cause: error)
      }
    }
    try pool.refresh()
    var deleted = false
    // Every image of the version (before and after a `box add --force`), each with its mark and warm state.
    for volume in try imageVolumes(of: box, in: pool) {
      deleted = try deleteImage(volume, in: pool) || deleted
    }
    return deleted
  }
}
