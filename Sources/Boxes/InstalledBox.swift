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
    return BoxMetadata(provider: provider, format: format, virtualSizeGB: size, disks: disks)
  }
}

/// A box in the store: `boxes/NAME/VERSION/libvirt/`.
public struct InstalledBox: Sendable, Equatable {
  public var name: String
  public var version: String
  public var directory: String
  public var metadata: BoxMetadata

  /// Name of the pool volume holding this box version's root image. It carries
  /// a hash of the store folder, so two box stores (two users, or two
  /// CARAVAN_HOMEs) on one libvirt never share, or delete, each other's volume.
  public var volumeName: String { volumeName(disk: 0) }

  /// The pool volume of the box's `disk`-th image (0 is the root disk).
  public func volumeName(disk: Int) -> String {
    let base = "caravan-box_\(BoxStore.escape(name))_\(version)_\(StableHash.hex(directory, length: 8))"
    return disk == 0 ? base + ".img" : base + "_disk\(disk + 1).img"
  }

  public func imagePath(disk: Int) -> String { directory + "/" + metadata.disks[disk] }
}
