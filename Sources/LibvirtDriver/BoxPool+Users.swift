import Boxes
import Foundation
import Libvirt
import Support

/// Who uses a box's pool volumes, and the volumes of earlier images of a box
/// version: a `box add --force` (or a rebuilt box added under the same version)
/// gets volumes named by its new image, and those of the image before stay
/// while a machine's disk is backed by them.
extension BoxPool {
  static let warmSuffix = ".warm.qcow2"

  /// The image volumes of every image of `box`'s version in `pool` (by name,
  /// sorted), also those that only a mark or a warm state is left of.
  func imageVolumes(of box: InstalledBox, in pool: StoragePool) throws -> [String] {
    let names = try pool.volumes().map(\.name).filter(box.ownsVolume).map { name in
      for suffix in [BoxPool.markSuffix, BoxPool.warmSuffix] where name.hasSuffix(suffix) {
        return String(name.dropLast(suffix.count))
      }
      return name
    }
    return Set(names).sorted()
  }

  /// Deletes an image volume with its mark (first) and its warm state; true
  /// when the image itself was there.
  func deleteImage(_ volumeName: String, in pool: StoragePool) throws -> Bool {
    try pool.volume(named: volumeName + BoxPool.markSuffix)?.delete()
    try pool.volume(named: volumeName + BoxPool.warmSuffix)?.delete()
    guard let volume = try pool.volume(named: volumeName) else { return false }
    try volume.delete()
    return true
  }

  /// Removes the volumes of earlier images of `box`'s version that nothing
  /// uses; returns the users ("web (/project)", "disk 'x.qcow2'") of those kept.
  func removeEarlierImages(_ box: InstalledBox, in pool: StoragePool, progress: (String) -> Void) throws -> [String] {
    let current = Set(box.metadata.disks.indices.map { box.volumeName(disk: $0) })
    var kept: [String] = []
    for image in try imageVolumes(of: box, in: pool) where !current.contains(image) {
      let using = try users(of: [image], in: pool)
      if using.isEmpty {
        if try deleteImage(image, in: pool) {
          progress(
            "removed volume '\(image)' of an earlier image of box '\(box.name)' (\(box.version)): no machine uses it")
        }
      } else {
        kept += using.filter { !kept.contains($0) }
      }
    }
    return kept
  }

  /// Machines ("web (/project)") whose domain names one of the box version's
  /// volumes (of any image) in its Caravan metadata, and disks in this pool
  /// (when it exists and runs) backed by one of them: a machine whose domain
  /// is gone but whose disk is not.
  func machinesUsing(_ box: InstalledBox) throws -> [String] {
    guard let pool = try connection.pool(named: name), try pool.isActive() else {
      return try domainsNaming(box.ownsVolume).map(\.user)
    }
    try pool.refresh()
    let images = try imageVolumes(of: box, in: pool)
    return try users(of: images.isEmpty ? [box.volumeName] : images, in: pool, naming: box.ownsVolume)
  }

  /// The users of the image volumes `names` in `pool`: the domains naming one
  /// of them (or, with `naming`, any volume it accepts), then the disks
  /// backed by one of them that belong to none of those domains.
  func users(of names: [String], in pool: StoragePool, naming: ((String) -> Bool)? = nil) throws -> [String] {
    let domains = try domainsNaming(naming ?? { names.contains($0) })
    let paths = try names.compactMap { try pool.volume(named: $0)?.path() }
    let disks: [String] = try pool.volumes().compactMap { volume in
      let volumeName = volume.name
      guard !volumeName.hasPrefix("caravan-box_"),
        !domains.contains(where: { volumeName.hasPrefix($0.domain + ".") || volumeName.hasPrefix($0.domain + "-") }),
        let backing = BoxPool.backingPath(try volume.xml()), paths.contains(backing)
      else { return nil }
      return "disk '\(volumeName)'"
    }
    return domains.map(\.user) + disks
  }

  /// The domains whose Caravan metadata names a box volume `matches` accepts.
  private func domainsNaming(_ matches: (String) -> Bool) throws -> [(domain: String, user: String)] {
    try connection.allDomains().compactMap { domain in
      guard let xml = try domain.metadata(namespace: DomainDefinition.metadataNamespace),
        let meta = MetadataReader.parse(xml), !meta.boxVolume.isEmpty, matches(meta.boxVolume)
      else { return nil }
      return (domain.name, "\(meta.machine) (\(meta.project))")
    }
  }

  /// The `<backingStore>`'s path in a volume's XML; nil when it has none.
  static func backingPath(_ xml: String) -> String? {
    guard let start = xml.range(of: "<backingStore>"),
      let end = xml.range(of: "</backingStore>", range: start.upperBound..<xml.endIndex),
      let open = xml.range(of: "<path>", range: start.upperBound..<end.lowerBound),
      let close = xml.range(of: "</path>", range: open.upperBound..<end.lowerBound)
    else { return nil }
    return String(xml[open.upperBound..<close.lowerBound])
  }
}
