// Writing a box: the vagrant-libvirt archive (`metadata.json`, `Vagrantfile`, the disk) and,
// when asked, the box's entry in a Vagrant catalog (name, version, libvirt provider, url,
// sha256). What `box add FILE` and `box add CATALOG` read back.

import Foundation
import Spec
import Support

public enum BoxPackager {
  public enum Format: Sendable { case v1, v2 }

  public struct Written: Sendable {
    public var path: String
    public var sha256: String
    public var bytes: UInt64
  }

  /// Tars `disk` (a qcow2 image) with its metadata into `output`, atomically (`output.partial`
  /// then rename). `virtualBytes` is the disk's size as the guest sees it.
  public static func write(
    disk: String, virtualBytes: UInt64, format: Format, boxName: String, to output: String,
    madeBy: String = "`caravan build`"
  ) throws -> Written {
    let staging = (output as NSString).deletingLastPathComponent + "/.\((output as NSString).lastPathComponent).parts"
    try? FileSystem.removeTree(staging)
    try FileSystem.makeDirectory(staging)
    defer { try? FileSystem.removeTree(staging) }
    let gigabytes = (virtualBytes + (1 << 30) - 1) >> 30
    let diskName: String
    let metadata: String
    switch format {
    case .v1:
      diskName = "box.img"
      metadata = "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":\(gigabytes)}\n"
    case .v2:
      diskName = "box_1.img"
      metadata =
        "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":\(gigabytes),"
        + "\"disks\":[{\"path\":\"box_1.img\",\"format\":\"qcow2\"}]}\n"
    }
    try FileSystem.writeAtomically(Data(metadata.utf8), to: staging + "/metadata.json", mode: 0o644)
    let vagrantfile = """
      # \(boxName): made by \(madeBy).
      Vagrant.configure("2") do |config|
        config.vm.provider :libvirt do |libvirt|
          libvirt.driver = "kvm"
        end
      end

      """
    try FileSystem.writeAtomically(Data(vagrantfile.utf8), to: staging + "/Vagrantfile", mode: 0o644)
    // A hard link when possible: the disk is large and already final.
    if link(disk, staging + "/" + diskName) != 0 {
      try FileManager.default.copyItem(atPath: disk, toPath: staging + "/" + diskName)
    }
    try FileSystem.makeDirectory((output as NSString).deletingLastPathComponent)
    let partial = output + ".partial"
    // tar writes to standard output, hashed as it is written: the archive is read no second time.
    let tar = Subprocess(["tar", "--sparse", "-C", staging, "-cf", "-", "metadata.json", "Vagrantfile", diskName])
    FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o644])
    guard let file = FileHandle(forWritingAtPath: partial) else { throw FileSystem.ioError("write", partial) }
    var hasher = StreamingDigest(.sha256)
    var errors = Data()
    var writeError: Error?
    let status: Int32
    do {
      status = try tar.run { stream, data in
        guard stream == .stdout else { return errors.append(data) }
        guard writeError == nil else { return }
        hasher.update(data)
        do { try file.write(contentsOf: data) } catch { writeError = error }
      }
      try file.close()
      if let writeError { throw writeError }
    } catch {
      // Stopped (Ctrl-C), not started, or the disk is full: no half archive is left.
      try? file.close()
      try? FileManager.default.removeItem(atPath: partial)
      throw error
    }
    guard status == 0 else {
      try? FileManager.default.removeItem(atPath: partial)
      throw CaravanError(
        .io, "could not write the box archive \(output): tar exited \(status)",
        hint: String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let sha256 = hasher.finalizeHex()
    guard rename(partial, output) == 0 else { throw FileSystem.ioError("rename the box archive to", output) }
    let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? UInt64) ?? 0
    return Written(path: output, sha256: sha256, bytes: bytes ?? 0)
  }

  /// Adds (or replaces) `version` of box `name` in the catalog at `path`, keeping the
  /// catalog's other versions; `url` is where the box will be downloaded from.
  public static func writeCatalogEntry(
    path: String, name: String, version: String, url: String, sha256: String
  ) throws {
    var object: [String: Any] = ["name": name, "versions": [] as [Any]]
    if let data = FileManager.default.contents(atPath: path) {
      guard let existing = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CaravanError(
          .invalidInput, "the catalog \(path) exists but is not a JSON object",
          hint: "Remove it or point `catalog:` of the Boxfile's output at another file.")
      }
      if let other = existing["name"] as? String, other != name {
        throw CaravanError(
          .conflict, "the catalog \(path) is for box '\(other)', not '\(name)'",
          hint: "One catalog describes one box; give this build's output another `catalog:` path.")
      }
      object = existing
    }
    var versions = (object["versions"] as? [[String: Any]]) ?? []
    versions.removeAll { ($0["version"] as? String) == version }
    versions.append([
      "version": version, "status": "active",
      "providers": [
        ["name": "libvirt", "url": url, "checksum_type": "sha256", "checksum": sha256, "architecture": "amd64"]
      ],
    ])
    versions.sort { BoxVersionNumber.ascending(($0["version"] as? String) ?? "", ($1["version"] as? String) ?? "") }
    object["versions"] = versions
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent)
    try FileSystem.writeAtomically(data + Data("\n".utf8), to: path, mode: 0o644)
  }

}
