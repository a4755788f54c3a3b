import Foundation
import Spec
import Support

/// A box's saved running state as an OCI artifact (`box warm --push/--pull`): its
/// record (what it was made for, and of which box image) as the config, media type
/// `application/vnd.caravan.warm.config.v1+json`, and its qcow2 volume (disk and
/// memory) as the one layer. The record is only carried here; the engine checks it.
public enum OCIWarmState {
  public static let configType = "application/vnd.caravan.warm.config.v1+json"
  public static let stateType = "application/vnd.caravan.warm.state.v1"
  static let title = "warm-state.qcow2"

  /// Pushes the state's volume file and its record to `reference` (its tag).
  public static func push(
    file: String, record: Data, box: InstalledBox, to reference: OCIReference, environment: [String: String],
    step: (String) -> Void
  ) throws -> OCIBox.Pushed {
    let registry = OCIRegistry(reference, environment: environment)
    var pushed = OCIBox.Pushed(digest: "", uploaded: [], present: [])
    let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
    step("hashing the warm state (\(ByteSize.text(UInt64(size))))")
    let digest = "sha256:" + (try StreamingDigest.hex(ofFile: file, .sha256))
    try OCIBox.pushBlob(
      registry, digest: digest, size: size, body: .file(file), what: "the warm state", into: &pushed, step: step)
    let configDigest = "sha256:" + OCIBox.sha256(record)
    try OCIBox.pushBlob(
      registry, digest: configDigest, size: record.count, body: .data(record), what: "its record", into: &pushed,
      step: step)
    pushed.digest = try OCIBox.putManifest(
      registry, config: (configType, configDigest, record.count),
      layers: [["mediaType": stateType, "digest": digest, "size": size, "annotations": [OCIBox.titleKey: title]]],
      annotations: [OCIBox.nameKey: box.name, OCIBox.versionKey: box.version])
    return pushed
  }

  /// Fetches the state at `reference` into `folder` (resuming what an earlier pull
  /// left, each blob checked against its digest); returns its record and the volume file.
  public static func pull(
    _ reference: OCIReference, into folder: String, environment: [String: String], step: (String) -> Void
  ) throws -> (record: Data, file: String) {
    let registry = OCIRegistry(reference, environment: environment)
    let manifest = try OCIBox.manifest(
      registry, configType: configType, kind: "a Caravan warm state",
      hint: "Push warm states with `caravan box warm NAME --push \(reference)`.")
    guard manifest.disks.count == 1, let layer = manifest.disks.first else {
      throw CaravanError(.invalidInput, "\(reference) has \(manifest.disks.count) layers; a warm state has one")
    }
    try FileSystem.makeDirectory(folder)
    let record = try OCIBox.fetch(
      registry, digest: manifest.config.digest, size: manifest.config.size, into: folder,
      what: "the warm state's record",
      step: step)
    let data = try Data(contentsOf: URL(fileURLWithPath: record))
    try? FileManager.default.removeItem(atPath: record)
    let file = try OCIBox.fetch(
      registry, digest: layer.digest, size: layer.size, into: folder, what: "the warm state", step: step)
    return (data, file)
  }
}
