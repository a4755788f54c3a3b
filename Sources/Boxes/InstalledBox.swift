import Foundation
import Spec
import Support

/// The `metadata.json` of a vagrant-libvirt box: v1 (`format`, `virtual_size` in GB,
/// one `box.img`) or v2 (`disks: [{path, name?, format?}]`).
public struct BoxMetadata: Sendable, Equatable {
  public var provider: String
  public var format: String
  /// Virtual size in GB (v1), nil when not given.
  public var virtualSizeGB: Int?
  /// Disk image files inside the box folder, first is the root disk.
  public var disks: [String]
  /// Set for a box made from a plain cloud image (not a `.box`): where it came from.
  public var image: ImageOrigin?

  public init(
    provider: String = "libvirt", format: String = "qcow2", virtualSizeGB: Int? = nil, disks: [String] = ["box.img"],
    image: ImageOrigin? = nil
  ) {
    self.provider = provider
    self.format = format
    self.virtualSizeGB = virtualSizeGB
    self.disks = disks
    self.image = image
  }

  public static func parse(_ data: Data, file: String) throws -> BoxMetadata {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw CaravanError(
        .invalidInput, "'\(file)' is not a JSON object",
        hint:
          "A libvirt box needs metadata.json like {\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":8}.")
    }
    let provider = object["provider"] as? String ?? ""
    guard provider == "libvirt" else {
      throw CaravanError(
        .invalidInput, "the box's provider is '\(provider.isEmpty ? "(none)" : provider)', not 'libvirt' (\(file))",
        hint: "Use a box made for vagrant-libvirt/Caravan (\"provider\": \"libvirt\").")
    }
    var disks: [String] = []
    if let list = object["disks"] as? [[String: Any]] {
      disks = list.compactMap { $0["path"] as? String }
      if disks.isEmpty {
        throw CaravanError(
          .invalidInput, "'disks' in \(file) lists no disk with a 'path'",
          hint: "Each disk needs {\"path\": \"box_1.img\"}.")
      }
    } else {
      disks = ["box.img"]
    }
    let format = object["format"] as? String ?? "qcow2"
    guard format == "qcow2" else {
      throw CaravanError(
        .invalidInput, "box disk format '\(format)' is not supported (\(file))",
        hint: "Convert the image to qcow2 (`qemu-img convert -O qcow2`).")
    }
    let size = (object["virtual_size"] as? NSNumber)?.intValue
    let image = (object["image"] as? [String: Any]).map(ImageOrigin.init(json:))
    return BoxMetadata(provider: provider, format: format, virtualSizeGB: size, disks: disks, image: image)
  }
}

/// Where an image box came from, kept as `image` in its metadata.json.
public struct ImageOrigin: Sendable, Equatable {
  /// The image as it was read: `qcow2`, or `raw` (then converted to qcow2 for box.img).
  public var format: String
  /// What the image boots with: from the image index, else bios.
  public var firmware: LibvirtSettings.Firmware
  /// The URL or file it was read from.
  public var source: String
  /// The image index name (`debian/12`) it was added by, if any.
  public var indexName: String?
  /// The digest of the bytes read, `sha512:…` (the kind of the checksum checked, else sha256).
  public var checksum: String
  /// The checksum file that gave the expected checksum, if one did.
  public var checksumURL: String?

  public init(
    format: String, firmware: LibvirtSettings.Firmware, source: String, indexName: String? = nil, checksum: String,
    checksumURL: String? = nil
  ) {
    self.format = format
    self.firmware = firmware
    self.source = source
    self.indexName = indexName
    self.checksum = checksum
    self.checksumURL = checksumURL
  }

  init(json: [String: Any]) {
    format = json["format"] as? String ?? "qcow2"
    firmware = (json["firmware"] as? String).flatMap(LibvirtSettings.Firmware.init(rawValue:)) ?? .bios
    source = json["source"] as? String ?? ""
    indexName = json["index_name"] as? String
    checksum = json["checksum"] as? String ?? ""
    checksumURL = json["checksum_url"] as? String
  }

  var json: [String: Any] {
    var object: [String: Any] = [
      "format": format, "firmware": firmware.rawValue, "source": source, "checksum": checksum,
    ]
    object["index_name"] = indexName
    object["checksum_url"] = checksumURL
    return object
  }
}

/// A box in the store: `boxes/NAME/VERSION/libvirt/`.
public struct InstalledBox: Sendable, Equatable {
  public var name: String
  public var version: String
  public var directory: String
  public var metadata: BoxMetadata
  /// A short sha256 of the box's image (of its images' digests when it has
  /// several), recorded at `box add` in `BoxImageDigest.file`; nil names the
  /// volumes as a Caravan without digests did.
  public var digest: String?

  public init(name: String, version: String, directory: String, metadata: BoxMetadata, digest: String? = nil) {
    self.name = name
    self.version = version
    self.directory = directory
    self.metadata = metadata
    self.digest = digest
  }

  /// Name of the pool volume holding this box version's root image. It carries
  /// a hash of the store folder, so two box stores (two users, or two
  /// CARAVAN_HOMEs) on one libvirt never share, or delete, each other's
  /// volume, and the image's digest, so a box replaced under the same version
  /// (`box add --force`, a rebuild) gets a volume of its own.
  public var volumeName: String { volumeName(disk: 0) }

  /// What the names of all pool volumes of this box version start with,
  /// whatever image they hold (see `ownsVolume`).
  public var versionVolumePrefix: String {
    "caravan-box_\(BoxStore.escape(name))_\(version)_\(StableHash.hex(directory, length: 8))"
  }

  /// The pool volume of the box's `disk`-th image (0 is the root disk).
  public func volumeName(disk: Int) -> String {
    let base = versionVolumePrefix + (digest.map { "_" + $0 } ?? "")
    return disk == 0 ? base + ".img" : base + "_disk\(disk + 1).img"
  }

  /// Whether the pool volume `volume` belongs to this box version: an image
  /// of any digest (or of none), its completion mark or its warm state.
  public func ownsVolume(_ volume: String) -> Bool {
    let prefix = versionVolumePrefix
    guard volume.hasPrefix(prefix), let next = volume.dropFirst(prefix.count).first else { return false }
    return next == "." || next == "_"
  }

  public func imagePath(disk: Int) -> String { directory + "/" + metadata.disks[disk] }
}
