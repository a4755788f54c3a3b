import Boxes
import Foundation
import Libvirt
import Support

/// Caravan's storage pool: box images enter it once per box version (uploaded
/// through a libvirt stream, so remote URIs work), machine overlays live beside them.
struct BoxPool {
  public static let defaultName = "caravan"
  public let connection: Connection
  public let name: String

  public init(connection: Connection, name: String?) {
    self.connection = connection
    self.name = name ?? BoxPool.defaultName
  }

  /// The folder a new `dir` pool gets: libvirt's own image folder for the URI.
  func defaultPath() -> String {
    if connection.uri.contains("session") {
      let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
      return home + "/.local/share/libvirt/images/\(name)"
    }
    return "/var/lib/libvirt/images/\(name)"
  }

  /// The pool, defined, built and started if needed.
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
      pool = try connection.definePool(xml: xml, name: name)
      try pool.build()
      try? pool.setAutostart(true)
    }
    if try !pool.isActive() { try pool.start() }
    return pool
  }

  /// The pool volumes of a box version's disks (root disk first), imported now
  /// if they are not there yet. Holds an exclusive lock on `lockFile` so
  /// parallel `up`s import once.
  public func importBox(_ box: InstalledBox, lockFile: String, progress: (String) -> Void) throws -> [Volume] {
    let pool = try ensure()
    let names = box.metadata.disks.indices.map { box.volumeName(disk: $0) }
    if let volumes = try? names.map({ try pool.volume(named: $0) }), volumes.allSatisfy({ $0 != nil }) {
      return volumes.compactMap { $0 }
    }
    let lock = try FileLock(path: lockFile)
    defer { lock.unlock() }
    try pool.refresh()
    var result: [Volume] = []
    for (disk, volumeName) in names.enumerated() {
      if let volume = try pool.volume(named: volumeName) {
        result.append(volume)
        continue
      }
      let image = box.imagePath(disk: disk)
      let fileSize = (try? FileManager.default.attributesOfItem(atPath: image)[.size] as? NSNumber)?.uint64Value ?? 0
      let virtual = disk == 0 ? UInt64(box.metadata.virtualSizeGB ?? 0) << 30 : 0
      let which = names.count > 1 ? " disk \(disk + 1) of \(names.count)" : ""
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
      } catch {
        try? volume.delete()
        throw error
      }
      result.append(try pool.volume(named: volumeName) ?? volume)
    }
    return result
  }

  /// Deletes a box version's pool volumes, if any.
  public func removeBoxVolume(_ box: InstalledBox) throws {
    guard let pool = try connection.pool(named: name), try pool.isActive() else { return }
    try pool.refresh()
    for disk in box.metadata.disks.indices {
      try pool.volume(named: box.volumeName(disk: disk))?.delete()
    }
  }
}
