import Foundation
import Support

/// How far a machine's first `up` has got. The record and the domain's metadata
/// both keep it, so an interrupted first `up` is finished by the next one.
public enum FirstUp: Sendable, Equatable {
  /// Started from a box's warm state: the guest does not have its own identity
  /// (machine-id, host keys, clock, random seed) yet.
  case identityPending
  /// Booted with its own identity; the key, hostname or provisioners may not be done.
  case unfinished
  /// Everything a first `up` does is done.
  case finished
}

/// What `.caravan/machines/NAME/state.json` remembers about a machine. It is a
/// cache: libvirt is asked whether the machine exists and runs.
public struct MachineRecord: Equatable, Sendable {
  public var domainName: String
  public var domainUUID: String
  public var libvirtURI: String
  public var boxName: String
  public var boxVersion: String
  /// The host port on 127.0.0.1 that reaches the guest's SSH port.
  public var sshPort: Int
  /// Forwards as last started, SSH first.
  public var forwards: [ResolvedForward]
  /// true once the box's insecure key has been replaced by `id_ed25519`.
  public var keyReplaced: Bool
  /// Names of provisioners already run (for `run: once`).
  public var provisioned: [String]
  public var accelerator: Accelerator
  public var createdAt: String
  /// How far the first `up` got; `.finished` in records of older Caravans.
  public var firstUp: FirstUp
  /// Addresses the guest got by DHCP on its private networks, by the NIC's MAC
  /// address, for the other machines' `/etc/hosts`; nil when it has none.
  public var dhcpAddresses: [String: String]?

  /// How far the first `up` got, as kept in the domain too.
  public var progress: MachineProgress {
    MachineProgress(keyReplaced: keyReplaced, provisioned: provisioned, firstUp: firstUp)
  }

  public init(
    domainName: String, domainUUID: String, libvirtURI: String, boxName: String, boxVersion: String,
    sshPort: Int, forwards: [ResolvedForward], accelerator: Accelerator
  ) {
    self.domainName = domainName
    self.domainUUID = domainUUID
    self.libvirtURI = libvirtURI
    self.boxName = boxName
    self.boxVersion = boxVersion
    self.sshPort = sshPort
    self.forwards = forwards
    self.keyReplaced = false
    self.provisioned = []
    self.accelerator = accelerator
    self.createdAt = ISO8601DateFormatter().string(from: Date())
    self.firstUp = .unfinished
  }
}

/// The file's form, read and written as every Caravan so far has: forwards as
/// "tcp 127.0.0.1:8080 -> 80" (read back by the one parser,
/// `ResolvedForward(parsing:)`), the accelerator by name, and the first `up`'s
/// progress as `upCompleted` (missing in the oldest records: finished) and
/// `identityPending` (written only while it is true).
extension MachineRecord: Codable {
  enum CodingKeys: String, CodingKey {
    case domainName, domainUUID, libvirtURI, boxName, boxVersion, sshPort, forwards, keyReplaced, provisioned
    case accelerator, createdAt, upCompleted, dhcpAddresses, identityPending
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    domainName = try c.decode(String.self, forKey: .domainName)
    domainUUID = try c.decode(String.self, forKey: .domainUUID)
    libvirtURI = try c.decode(String.self, forKey: .libvirtURI)
    boxName = try c.decode(String.self, forKey: .boxName)
    boxVersion = try c.decode(String.self, forKey: .boxVersion)
    sshPort = try c.decode(Int.self, forKey: .sshPort)
    forwards = try c.decode([String].self, forKey: .forwards).compactMap(ResolvedForward.init(parsing:))
    keyReplaced = try c.decode(Bool.self, forKey: .keyReplaced)
    provisioned = try c.decode([String].self, forKey: .provisioned)
    let acceleratorName = try c.decode(String.self, forKey: .accelerator)
    guard let accelerator = Accelerator(rawValue: acceleratorName) else {
      throw DecodingError.dataCorruptedError(
        forKey: .accelerator, in: c, debugDescription: "unknown accelerator '\(acceleratorName)' (kvm or tcg)")
    }
    self.accelerator = accelerator
    createdAt = try c.decode(String.self, forKey: .createdAt)
    dhcpAddresses = try c.decodeIfPresent([String: String].self, forKey: .dhcpAddresses)
    let completed = try c.decodeIfPresent(Bool.self, forKey: .upCompleted) ?? true
    let identityPending = try c.decodeIfPresent(Bool.self, forKey: .identityPending) ?? false
    firstUp = identityPending && !completed ? .identityPending : completed ? .finished : .unfinished
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(domainName, forKey: .domainName)
    try c.encode(domainUUID, forKey: .domainUUID)
    try c.encode(libvirtURI, forKey: .libvirtURI)
    try c.encode(boxName, forKey: .boxName)
    try c.encode(boxVersion, forKey: .boxVersion)
    try c.encode(sshPort, forKey: .sshPort)
    try c.encode(forwards.map(\.description), forKey: .forwards)
    try c.encode(keyReplaced, forKey: .keyReplaced)
    try c.encode(provisioned, forKey: .provisioned)
    try c.encode(accelerator.rawValue, forKey: .accelerator)
    try c.encode(createdAt, forKey: .createdAt)
    try c.encode(firstUp == .finished, forKey: .upCompleted)
    try c.encodeIfPresent(dhcpAddresses, forKey: .dhcpAddresses)
    if firstUp == .identityPending { try c.encode(true, forKey: .identityPending) }
  }
}
