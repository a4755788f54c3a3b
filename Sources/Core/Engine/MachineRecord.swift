import Foundation
import Support

/// What `.caravan/machines/NAME/state.json` remembers about a machine. It is a
/// cache: libvirt is asked whether the machine exists and runs.
public struct MachineRecord: Codable, Equatable, Sendable {
  public var domainName: String
  public var domainUUID: String
  public var libvirtURI: String
  public var boxName: String
  public var boxVersion: String
  /// The host port on 127.0.0.1 that reaches the guest's SSH port.
  public var sshPort: Int
  /// Forwards as last started: "tcp 127.0.0.1:8080 -> 80".
  public var forwards: [String]
  /// true once the box's insecure key has been replaced by `id_ed25519`.
  public var keyReplaced: Bool
  /// Names of provisioners already run (for `run: once`).
  public var provisioned: [String]
  public var accelerator: String
  public var createdAt: String
  /// false from the first boot until the first `up` has finished (key, hostname,
  /// provisioners), so an interrupted first `up` is finished by the next one;
  /// nil in records of older Caravans, which counts as finished.
  public var upCompleted: Bool?
  /// Addresses the guest got by DHCP on its private networks, by the NIC's MAC
  /// address, for the other machines' `/etc/hosts`; nil when it has none.
  public var dhcpAddresses: [String: String]?
  /// true from a warm start until the restored guest has its own identity
  /// (machine-id, host keys, clock, random seed); nil or false otherwise.
  public var identityPending: Bool?

  /// How far the first `up` got, as kept in the domain too.
  public var progress: MachineProgress {
    MachineProgress(
      keyReplaced: keyReplaced, provisioned: provisioned, upCompleted: upCompleted ?? true,
      identityPending: identityPending == true)
  }

  public init(
    domainName: String, domainUUID: String, libvirtURI: String, boxName: String, boxVersion: String,
    sshPort: Int, forwards: [String], accelerator: String
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
    self.upCompleted = false
  }
}
