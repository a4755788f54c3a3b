/// `Machinefile.lock`: each box of a project as it was resolved, so that every `up`
/// (a CI run, a colleague's laptop) boots exactly the same images.
public struct BoxLock: Equatable, Sendable {
  /// The lock file's format; a file of another one is refused.
  public static let formatVersion = 1

  /// Sorted by name, then version.
  public var boxes: [LockedBox]

  public init(boxes: [LockedBox] = []) {
    self.boxes = boxes.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
  }

  /// The entry a machine's box line resolves to: its name, a version its constraint
  /// admits (the newest such entry).
  public func entry(for box: BoxRequirement) -> LockedBox? {
    boxes.last { $0.name == box.name && (box.version?.matches($0.version) ?? true) }
  }

  /// The lock with `entry` in it, replacing the one of the same name and version.
  public func with(_ entry: LockedBox) -> BoxLock {
    BoxLock(boxes: boxes.filter { $0.name != entry.name || $0.version != entry.version } + [entry])
  }
}

/// One box as resolved.
public struct LockedBox: Equatable, Sendable {
  public var name: String
  public var version: String
  public var provider: String
  public var source: LockedSource
  /// sha256 (hex) of what was downloaded or read: the `.box` file or the image; nil
  /// for a box installed before Caravan recorded it.
  public var sha256: String?
  /// sha256 (hex) of each disk image of the installed box, by its file name.
  public var disks: [String: String]

  public init(
    name: String, version: String, provider: String = "libvirt", source: LockedSource, sha256: String?,
    disks: [String: String]
  ) {
    self.name = name
    self.version = version
    self.provider = provider
    self.source = source
    self.sha256 = sha256
    self.disks = disks
  }
}

/// Where a locked box comes from: enough to install it again on another host.
public struct LockedSource: Equatable, Sendable {
  public enum Kind: String, Sendable, CaseIterable {
    /// A catalog (Vagrant's metadata JSON), by URL or path: `location` and the locked version.
    case catalog
    /// A `.box` or disk image URL.
    case url
    /// A `.box` or disk image file on this host.
    case file
    /// A name in the image index (`debian/12`); `location` is the image's URL.
    case imageIndex = "image_index"
    /// A box in an OCI registry: `location` is `oci://HOST/REPO:TAG@sha256:…`, pinned to
    /// the manifest that was pulled.
    case oci
    /// Installed by hand, from a source Caravan did not record.
    case installed
  }

  public var kind: Kind
  /// The catalog, URL or path; for `imageIndex`, the image's URL (the name is the box's).
  public var location: String

  public init(kind: Kind, location: String) {
    self.kind = kind
    self.location = location
  }

  /// "catalog https://…", as messages name it.
  public var text: String { location.isEmpty ? kind.rawValue : "\(kind.rawValue) \(location)" }
}
