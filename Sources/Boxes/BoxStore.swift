import Foundation
import Spec
import Support

/// The box store under `$CARAVAN_HOME/boxes`, laid out as Vagrant does:
/// `NAME/VERSION/libvirt/{box.img,metadata.json,Vagrantfile}` with `/` in
/// names written `-VAGRANTSLASH-`.
public struct BoxStore: Sendable {
  public let root: String

  public init(root: String) { self.root = root }

  /// Where registry pulls (boxes and warm states) keep partial blobs, `sha256-HEX`, which
  /// the next pull resumes.
  public var partialBlobs: String { root + "/.oci-partial" }

  /// Locks live beside the store (`$CARAVAN_HOME/locks`), so the store holds boxes only.
  var lockDirectory: String { (root as NSString).deletingLastPathComponent + "/locks" }

  public static func escape(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "-VAGRANTSLASH-") }
  static func unescape(_ name: String) -> String { name.replacingOccurrences(of: "-VAGRANTSLASH-", with: "/") }

  public func directory(name: String, version: String) -> String {
    "\(root)/\(BoxStore.escape(name))/\(version)/libvirt"
  }

  /// Every installed box, sorted by name then version. Staging folders left
  /// by killed installs are cleaned on the way (see `sweepStaging`).
  public func list() throws -> [InstalledBox] {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: root) else { return [] }
    var boxes: [InstalledBox] = []
    for escaped in names where !escaped.hasPrefix(".") {
      if !stagingFolders(escapedName: escaped).isEmpty { sweepStaging(name: BoxStore.unescape(escaped)) }
      guard let versions = try? fm.contentsOfDirectory(atPath: "\(root)/\(escaped)") else { continue }
      for version in versions where !version.hasPrefix(".") {
        let dir = "\(root)/\(escaped)/\(version)/libvirt"
        guard let data = fm.contents(atPath: dir + "/metadata.json") else { continue }
        let metadata = try BoxMetadata.parse(data, file: dir + "/metadata.json")
        boxes.append(
          InstalledBox(
            name: BoxStore.unescape(escaped), version: version, directory: dir, metadata: metadata,
            digest: BoxImageDigest.load(in: dir, metadata: metadata)))
      }
    }
    return boxes.sorted {
      $0.name != $1.name ? $0.name < $1.name : BoxVersionNumber.ascending($0.version, $1.version)
    }
  }

  /// The newest installed version of `name`, or nil.
  public func find(name: String) throws -> InstalledBox? {
    try list().last(where: { $0.name == name })
  }

  /// `version` of `name` (the newest installed when nil); not installed is an error
  /// that says how to add it, or which versions there are.
  public func installed(name: String, version: String?) throws -> InstalledBox {
    let installed = try list().filter { $0.name == name }
    guard let box = version.map({ wanted in installed.first { $0.version == wanted } }) ?? installed.last else {
      let versions = installed.map(\.version).joined(separator: ", ")
      throw CaravanError(
        .notFound, "box '\(name)'\(version.map { " version \($0)" } ?? "") is not installed",
        hint: installed.isEmpty
          ? "Add it with `caravan box add \(name) FILE.box`; `caravan box list` shows the installed boxes."
          : "Installed versions: \(versions).")
    }
    return box
  }

  public static func validateName(_ name: String) throws {
    guard !name.isEmpty, !name.contains(".."), !name.hasPrefix("/"), !name.hasSuffix("/"),
      name.range(of: "[^A-Za-z0-9._/-]", options: .regularExpression) == nil
    else {
      throw CaravanError(
        .invalidInput, "'\(name)' is not a valid box name",
        hint: "Use letters, digits, '.', '_', '-' and one '/', like 'caravan/debian-12'.")
    }
  }

  /// Adds a `.box` file (a tar, compressed tar or zip of metadata.json, box.img, Vagrantfile)
  /// as `name` at `version`, verifying `checksum` if given.
  @discardableResult
  public func add(name: String, file: String, version: String = "0", checksum: Checksum? = nil, force: Bool = false)
    throws -> InstalledBox
  {
    guard FileManager.default.fileExists(atPath: file) else {
      throw CaravanError(
        .notFound, "box file '\(file)' does not exist", hint: "Give the path of a .box file (a vagrant-libvirt box).")
    }
    return try install(name: name, version: version, force: force, source: file) { staging in
      try BoxArchive.extract(file: file, into: staging, checksum: checksum)
    }
  }

  /// Installs a box version: `fill` writes the box's files into a staging folder
  /// beside the target, which is checked and renamed into place, so a failed
  /// add leaves nothing behind.
  /// Installs of one box name are serialised across processes; with
  /// `reuseExisting`, a version another process installed meanwhile is returned.
  @discardableResult
  /// `imageDigests`: the sha256 of each disk image by file name, when `fill` checked
  /// them itself as it wrote them (an OCI pull); they are recorded instead of hashing again.
  public func install(
    name: String, version: String, force: Bool, reuseExisting: Bool = false, source: String,
    imageDigests: [String: String]? = nil, fill: (String) throws -> Void
  ) throws -> InstalledBox {
    try BoxStore.validateName(name)
    let lock = try FileLock(path: installLockPath(name: name))
    defer { lock.unlock() }
    sweepStagingLocked(name: name)
    let target = directory(name: name, version: version)
    if !force && reuseExisting, let existing = try list().first(where: { $0.name == name && $0.version == version }) {
      return existing
    }
    if FileManager.default.fileExists(atPath: target) && !force { throw BoxStore.alreadyInstalled(name, version) }
    let versionDir = (target as NSString).deletingLastPathComponent
    let nameDir = (versionDir as NSString).deletingLastPathComponent
    let existedBefore = FileManager.default.fileExists(atPath: nameDir)
    try FileManager.default.createDirectory(atPath: versionDir, withIntermediateDirectories: true)
    let staging = versionDir + "/" + BoxStore.stagingPrefix + String(getpid())
    try? FileManager.default.removeItem(atPath: staging)
    do {
      try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
      try fill(staging)
      // A local file read whole (a catalog's `.box` beside it): its digest, for the lock file.
      if BoxSourceRecord.load(in: staging) == nil, FileManager.default.fileExists(atPath: source) {
        try BoxSourceRecord(
          source: FileSystem.absolute(source), sha256: try StreamingDigest.hex(ofFile: source, .sha256)
        )
        .write(in: staging)
      }
      guard let data = FileManager.default.contents(atPath: staging + "/metadata.json") else {
        throw CaravanError(
          .invalidInput, "'\(source)' has no metadata.json",
          hint:
            "A vagrant-libvirt box is a tar (plain or compressed) or a zip of metadata.json, box.img and Vagrantfile.")
      }
      let metadata = try BoxMetadata.parse(data, file: "metadata.json in \(source)")
      for disk in metadata.disks {
        guard (try? ArchiveExtractor.safePath(disk, archive: source)) == disk,
          FileManager.default.fileExists(atPath: staging + "/" + disk)
        else {
          throw CaravanError(.invalidInput, "'\(source)' lacks the disk image '\(disk)' that its metadata.json names")
        }
      }
      // Names the box's pool volumes: a replaced image never reuses the volume of the one before.
      let digest = try BoxImageDigest.record(in: staging, metadata: metadata, known: imageDigests ?? [:])
      if FileManager.default.fileExists(atPath: target) {
        // A replacement waits for each `up` that chose the version it replaces until its machine is defined.
        let use = try FileLock(path: useLockPath(name: name, version: version))
        defer { use.unlock() }
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.moveItem(atPath: staging, toPath: target)
      } else {
        try FileManager.default.moveItem(atPath: staging, toPath: target)
      }
      return InstalledBox(name: name, version: version, directory: target, metadata: metadata, digest: digest)
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      if (try? FileManager.default.contentsOfDirectory(atPath: versionDir))?.isEmpty == true {
        try? FileManager.default.removeItem(atPath: versionDir)
      }
      if !existedBefore { try? FileManager.default.removeItem(atPath: nameDir) }
      if Interrupt.process.requested {
        throw Interrupt.stopped(
          "interrupted: box '\(name)' (version \(version)) was not installed, and what was read of \(source) so far was removed; `caravan box add` starts again from the beginning"
        )
      }
      throw error
    }
  }

  static func alreadyInstalled(_ name: String, _ version: String) -> CaravanError {
    CaravanError(
      .conflict, "box '\(name)' (version \(version)) is already installed",
      hint: "Add --force to replace it, or remove it first with `caravan box remove \(name) --box-version \(version)`.")
  }

  /// Where a box's catalog lives, recorded when it was added from one (Vagrant's `metadata_url`).
  public func catalogURL(name: String) -> String? {
    let path = "\(root)/\(BoxStore.escape(name))/metadata_url"
    return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  public func recordCatalogURL(_ url: String, name: String) throws {
    let path = "\(root)/\(BoxStore.escape(name))/metadata_url"
    try Data((url + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// Removes a box version's folder (and the box's folder when it was the
  /// last version). The staging folder of an install still running is left.
  public func remove(_ box: InstalledBox) throws {
    try FileManager.default.removeItem(atPath: box.directory)
    sweepStaging(name: box.name)
    let versionDir = (box.directory as NSString).deletingLastPathComponent
    BoxStore.removeIfEmpty(versionDir)
    let nameDir = (versionDir as NSString).deletingLastPathComponent
    let rest = (try? FileManager.default.contentsOfDirectory(atPath: nameDir)) ?? []
    if rest.allSatisfy({ $0 == "metadata_url" }) {
      try? FileManager.default.removeItem(atPath: nameDir)
    }
  }
}
