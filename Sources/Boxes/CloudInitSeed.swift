internal import Crypto
import Foundation
import Support

/// A cloud-init NoCloud seed: an ISO 9660 volume labelled `cidata` holding
/// `user-data`, `meta-data` and, when given, `network-config`, which cloud-init
/// finds on a CD-ROM at first boot. Rock Ridge and Joliet keep the names exactly
/// as cloud-init looks them up (lowercase, with a dash; plain ISO 9660 would make
/// them `USER_DAT.;1`).
///
/// The same contents make the same bytes: every date in the image is `fixedTime` (the
/// files' from their entries; the volume descriptors' and the root directory's, which
/// libarchive takes from the clock, set afterwards by `ISOImageDates`). A cache can
/// name a seed by the image's digest, or before writing it by `contentDigest`.
public struct CloudInitSeed: Sendable, Equatable {
  public var userData: Data
  public var metaData: Data
  public var networkConfig: Data?

  /// The volume label cloud-init's NoCloud source looks for.
  public static let volumeID = "cidata"
  /// Every date in the image: 2000-01-01 00:00:00 UTC.
  static let fixedTime = 946_684_800

  public init(userData: Data, metaData: Data, networkConfig: Data? = nil) {
    self.userData = userData
    self.metaData = metaData
    self.networkConfig = networkConfig
  }

  /// A machine's seed: Caravan's meta-data for `identity`, and its user-data merged with
  /// the user's own `cloud_init` data (`userData`, named `source` in errors: its path or
  /// `inline:`), and the user's network config as written.
  public init(identity: CloudInitIdentity, userData: Data?, source: String, networkConfig: Data? = nil) throws {
    self.init(
      userData: try CloudInitUserData.merge(userData, with: identity, source: source), metaData: identity.metaData,
      networkConfig: networkConfig)
  }

  /// The files of the seed, in the order they are written.
  var files: [(name: String, data: Data)] {
    [("meta-data", metaData), ("user-data", userData)] + (networkConfig.map { [("network-config", $0)] } ?? [])
  }

  /// `sha256:` and the hex digest of the three files (names, lengths and bytes): the
  /// same for the same seed, whenever it is written.
  public var contentDigest: String {
    var hasher = SHA256()
    for file in files {
      hasher.update(data: Data("\(file.name)\0\(file.data.count)\0".utf8))
      hasher.update(data: file.data)
    }
    return "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  /// The ISO 9660 image's bytes.
  public func image() throws -> Data {
    let writer = try ISOImageWriter(
      subject: "the cloud-init seed",
      options: ["volume-id=\(CloudInitSeed.volumeID)", "rockridge", "joliet"])
    for file in files {
      try writer.add(file.name, file.data, time: CloudInitSeed.fixedTime)
    }
    var bytes = [UInt8](try writer.finish())
    ISOImageDates.fix(&bytes, to: CloudInitSeed.fixedTime)
    return Data(bytes)
  }

  /// Writes the image at `path` atomically (a temporary file beside it, then a
  /// rename), mode 0600: user data may hold secrets (passwords, tokens), and libvirt
  /// gives a system QEMU access to the disks it starts with (its DAC labelling).
  public func write(to path: String) throws {
    try FileSystem.writeAtomically(try image(), to: path)
  }
}
