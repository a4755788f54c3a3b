import Foundation

/// The box store under `$CARAVAN_HOME/boxes`, laid out as Vagrant does:
/// `NAME/VERSION/libvirt/{box.img,metadata.json,Vagrantfile}` with `/` in
/// names written `-VAGRANTSLASH-`.
public struct BoxStore {
  public let root: String

  public init(root: String) { self.root = root }

  public static func escape(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "-VAGRANTSLASH-") }
  static func unescape(_ name: String) -> String { name.replacingOccurrences(of: "-VAGRANTSLASH-", with: "/") }

  public func directory(name: String, version: String) -> String {
    "\(root)/\(BoxStore.escape(name))/\(version)/libvirt"
  }

  /// Every installed box, sorted by name then version.
  public func list() throws -> [InstalledBox] {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: root) else { return [] }
    var boxes: [InstalledBox] = []
    for escaped in names where !escaped.hasPrefix(".") {
      guard let versions = try? fm.contentsOfDirectory(atPath: "\(root)/\(escaped)") else { continue }
      for version in versions where !version.hasPrefix(".") {
        let dir = "\(root)/\(escaped)/\(version)/libvirt"
        guard let data = fm.contents(atPath: dir + "/metadata.json") else { continue }
        let metadata = try BoxMetadata.parse(data, file: dir + "/metadata.json")
        boxes.append(InstalledBox(name: BoxStore.unescape(escaped), version: version, directory: dir, metadata: metadata))
      }
    }
    return boxes.sorted {
      $0.name != $1.name ? $0.name < $1.name : BoxVersion.sortKey($0.version).lexicographicallyPrecedes(BoxVersion.sortKey($1.version))
    }
  }

  /// The newest installed version of `name`, or nil.
  public func find(name: String) throws -> InstalledBox? {
    try list().last(where: { $0.name == name })
  }

  /// Adds a `.box` file (a tar of metadata.json, box.img, Vagrantfile) as `name` at `version`.
  /// Extracts into a temporary folder beside the target and renames it into place,
  /// so a failed add leaves nothing behind.
  @discardableResult
  public func add(name: String, file: String, version: String = "0", force: Bool = false) throws -> InstalledBox {
    guard !name.isEmpty, !name.contains(".."), !name.hasPrefix("/"), name.range(of: "[^A-Za-z0-9._/-]", options: .regularExpression) == nil else {
      throw BoxError("'\(name)' is not a valid box name", hint: "Use letters, digits, '.', '_', '-' and one '/', like 'caravan/debian-12'.")
    }
    guard FileManager.default.fileExists(atPath: file) else {
      throw BoxError("box file '\(file)' does not exist", hint: "Give the path of a .box file (a vagrant-libvirt box).")
    }
    let target = directory(name: name, version: version)
    if FileManager.default.fileExists(atPath: target) {
      guard force else {
        throw BoxError("box '\(name)' (version \(version)) is already installed",
          hint: "Run `caravan box add \(name) \(file) --force` to replace it.")
      }
    }
    let versionDir = (target as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: versionDir, withIntermediateDirectories: true)
    let staging = versionDir + "/.libvirt.partial-\(getpid())"
    try? FileManager.default.removeItem(atPath: staging)
    do {
      try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
      try TarReader.extract(archive: file, into: staging)
      let metaPath = staging + "/metadata.json"
      guard let data = FileManager.default.contents(atPath: metaPath) else {
        throw BoxError("'\(file)' has no metadata.json", hint: "A vagrant-libvirt box is a tar of metadata.json, box.img and Vagrantfile.")
      }
      let metadata = try BoxMetadata.parse(data, file: "metadata.json in \(file)")
      for disk in metadata.disks where !FileManager.default.fileExists(atPath: staging + "/" + disk) {
        throw BoxError("'\(file)' lacks the disk image '\(disk)' that its metadata.json names")
      }
      if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
      try FileManager.default.moveItem(atPath: staging, toPath: target)
      return InstalledBox(name: name, version: version, directory: target, metadata: metadata)
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      if (try? FileManager.default.contentsOfDirectory(atPath: versionDir))?.isEmpty == true {
        try? FileManager.default.removeItem(atPath: versionDir)
        try? FileManager.default.removeItem(atPath: (versionDir as NSString).deletingLastPathComponent)
      }
      throw error
    }
  }

  /// Removes a box version's folder (and the box's folder when it was the last version).
  public func remove(_ box: InstalledBox) throws {
    let versionDir = (box.directory as NSString).deletingLastPathComponent
    try FileManager.default.removeItem(atPath: versionDir)
    let nameDir = (versionDir as NSString).deletingLastPathComponent
    if (try? FileManager.default.contentsOfDirectory(atPath: nameDir))?.isEmpty == true {
      try? FileManager.default.removeItem(atPath: nameDir)
    }
  }
}

/// Orders versions like `1.10.0` after `1.9.2`.
enum BoxVersion {
  static func sortKey(_ version: String) -> [Int] {
    version.split(separator: ".").map { Int($0) ?? 0 }
  }
}

