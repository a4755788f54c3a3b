import Boxes
import Foundation
import Support

/// What a box's saved running state was made for. A machine starts from it only
/// when its own fingerprint is the same: the guest's memory holds the devices,
/// CPUs and RAM of the domain it was taken in, and QEMU of the version that took it.
public struct WarmFingerprint: Codable, Equatable, Sendable {
  public var boxVolume: String
  public var memoryMiB: UInt64
  public var cpus: Int
  public var machineType: String
  public var cpuMode: String?
  public var accelerator: String
  public var qemuVersion: String
  public var libvirtVersion: String
  /// A hash of the guest-visible domain definition (its devices and their slots),
  /// so a Caravan that defines machines differently never loads an older state.
  public var layout: String
  /// The login user the template's cloud-init seed made (an image box); nil for a `.box`.
  public var seedUser: String?

  public init(
    boxVolume: String, memoryMiB: UInt64, cpus: Int, machineType: String, cpuMode: String?, accelerator: String,
    qemuVersion: String, libvirtVersion: String, layout: String
  ) {
    self.boxVolume = boxVolume
    self.memoryMiB = memoryMiB
    self.cpus = cpus
    self.machineType = machineType
    self.cpuMode = cpuMode
    self.accelerator = accelerator
    self.qemuVersion = qemuVersion
    self.libvirtVersion = libvirtVersion
    self.layout = layout
  }

  /// Why a state made for `self` does not fit a machine that needs `wanted`, in
  /// the user's words ("memory 1024 MiB, the machine has 2048 MiB"); nil when it fits.
  public func mismatch(_ wanted: WarmFingerprint) -> String? {
    var reasons: [String] = []
    if boxVolume != wanted.boxVolume { reasons.append("it was made from another image of the box") }
    if memoryMiB != wanted.memoryMiB {
      reasons.append("it has \(memoryMiB) MiB of memory, the machine \(wanted.memoryMiB) MiB")
    }
    if cpus != wanted.cpus { reasons.append("it has \(cpus) CPU, the machine \(wanted.cpus)") }
    if machineType != wanted.machineType {
      reasons.append("its machine type is \(machineType), the machine's \(wanted.machineType)")
    }
    if cpuMode != wanted.cpuMode {
      reasons.append("its CPU mode is \(cpuMode ?? "the default"), the machine's \(wanted.cpuMode ?? "the default")")
    }
    if accelerator != wanted.accelerator {
      reasons.append("it was made with \(accelerator), the machine runs on \(wanted.accelerator)")
    }
    if qemuVersion != wanted.qemuVersion {
      reasons.append("QEMU was \(qemuVersion) when it was made, and is \(wanted.qemuVersion) now")
    }
    if libvirtVersion != wanted.libvirtVersion {
      reasons.append("libvirt was \(libvirtVersion) when it was made, and is \(wanted.libvirtVersion) now")
    }
    if seedUser != wanted.seedUser {
      reasons.append("its guest's cloud-init user is \(seedUser ?? "none"), the machine's \(wanted.seedUser ?? "none")")
    }
    if reasons.isEmpty && layout != wanted.layout {
      reasons.append("this Caravan defines machines differently from the one that made it")
    }
    return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
  }
}

/// A box's saved running state in one storage pool of one libvirt: a qcow2
/// overlay of the box volume whose internal snapshot holds the disk and the
/// memory of a guest captured right after its SSH first answered.
public struct WarmState: Codable, Equatable, Sendable {
  /// The internal snapshot, in the state's volume and in each warm machine's disk
  /// until its restore is done, that holds the saved guest.
  public static let snapshotName = "caravan-warm"
  public var uri: String
  public var pool: String
  public var volume: String
  public var fingerprint: WarmFingerprint
  /// Its size on disk when it was made.
  public var sizeBytes: UInt64
  public var createdAt: String
  /// The box's SSH port in the guest that answered (22 unless the Machinefile said otherwise).
  public var guestSSHPort: Int

  public init(
    uri: String, pool: String, volume: String, fingerprint: WarmFingerprint, sizeBytes: UInt64, guestSSHPort: Int
  ) {
    self.uri = uri
    self.pool = pool
    self.volume = volume
    self.fingerprint = fingerprint
    self.sizeBytes = sizeBytes
    self.createdAt = ISO8601DateFormatter().string(from: Date())
    self.guestSSHPort = guestSSHPort
  }
}

/// Where a box's warm states are described: one JSON file per libvirt URI and
/// pool, in the box version's own folder, so `box list` shows them without
/// asking libvirt and `box remove` takes them along with the box.
public enum WarmStateFiles {
  static let prefix = "warm-"

  public static func path(for box: InstalledBox, uri: String, pool: String) -> String {
    box.directory + "/" + prefix + StableHash.hex(uri + " " + pool, length: 12) + ".json"
  }

  /// The state on record; nil when there is none; throws when its record is there
  /// but cannot be read (cut short, edited by hand).
  public static func read(_ box: InstalledBox, uri: String, pool: String) throws -> WarmState? {
    let file = path(for: box, uri: uri, pool: pool)
    guard let data = FileManager.default.contents(atPath: file) else { return nil }
    do {
      return try JSONDecoder().decode(WarmState.self, from: data)
    } catch {
      throw CaravanError(.io, "its record '\(file)' cannot be read (\(error.localizedDescription))")
    }
  }

  /// Every warm state of the box, whatever libvirt and pool it is in.
  public static func all(_ box: InstalledBox) -> [WarmState] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: box.directory)) ?? []
    return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted().compactMap { name in
      FileManager.default.contents(atPath: box.directory + "/" + name).flatMap {
        try? JSONDecoder().decode(WarmState.self, from: $0)
      }
    }
  }

  public static func write(_ state: WarmState, for box: InstalledBox) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileSystem.writeAtomically(
      try encoder.encode(state), to: path(for: box, uri: state.uri, pool: state.pool), mode: 0o644)
  }

  public static func remove(_ box: InstalledBox, uri: String, pool: String) {
    try? FileManager.default.removeItem(atPath: path(for: box, uri: uri, pool: pool))
  }
}
