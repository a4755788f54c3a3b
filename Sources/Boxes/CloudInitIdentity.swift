import Foundation
import Support
internal import Yams

/// What Caravan's own cloud-init data says about a machine: the login user it
/// creates, the machine's own key that user accepts from the first boot, the
/// hostname and the instance id (fresh per machine, so cloud-init runs again on a
/// new machine made from the same image).
public struct CloudInitIdentity: Sendable, Equatable {
  /// `ssh { user }`, default `vagrant`.
  public var user: String
  /// The machine's ed25519 public key, one `authorized_keys` line (`ssh-ed25519 AAAA… comment`).
  public var publicKey: String
  /// The machine's `hostname` (or its name): `local-hostname` in meta-data, and `hostname`
  /// (its first label) and `fqdn` (when it has a dot) in the cloud-config.
  public var hostname: String
  /// `instance-id` in meta-data: a new one for each machine.
  public var instanceID: String

  public init(user: String, publicKey: String, hostname: String, instanceID: String) {
    self.user = user
    self.publicKey = publicKey
    self.hostname = hostname
    self.instanceID = instanceID
  }

  /// The NoCloud `meta-data` file.
  public var metaData: Data {
    let node = Node([
      (Node("instance-id"), Self.string(instanceID)),
      (Node("local-hostname"), Self.string(hostname)),
    ])
    return Data(Self.emit(node).utf8)
  }

  /// Caravan's own `#cloud-config`: its user, with passwordless sudo and the key, the
  /// hostname, and no password logins over SSH.
  public var cloudConfig: Data { Data(("#cloud-config\n" + Self.emit(.mapping(cloudConfigEntries))).utf8) }

  /// Caravan's cloud-config as a mapping, for the merge.
  var cloudConfigEntries: Node.Mapping {
    var entries: [(Node, Node)] = [(Node("users"), Node([Node.mapping(userEntry)]))]
    let label = String(hostname.prefix { $0 != "." })
    entries.append((Node("hostname"), Self.string(label)))
    if label != hostname { entries.append((Node("fqdn"), Self.string(hostname))) }
    entries.append((Node("ssh_pwauth"), Node("false")))
    return Node.Mapping(entries)
  }

  /// Caravan's entry of `users:`.
  var userEntry: Node.Mapping {
    Node.Mapping(userFields + [(Node("ssh_authorized_keys"), Node([Self.string(publicKey)]))])
  }

  /// The fields of Caravan's user but its key: what a user of the same name written by
  /// the user gets where they did not say otherwise.
  var userFields: [(Node, Node)] {
    [
      (Node("name"), Self.string(user)),
      (Node("sudo"), Self.string(Self.sudoRule)),
      (Node("shell"), Self.string("/bin/bash")),
      (Node("lock_passwd"), Node("true")),
    ]
  }

  /// Passwordless sudo: Caravan's provisioners and `halt` run through it.
  static let sudoRule = "ALL=(ALL) NOPASSWD:ALL"

  /// A string scalar, quoted when YAML would read it plain as something else (`true`,
  /// `12`); libyaml itself quotes what cannot be written plain (`: `, a leading `[`).
  static func string(_ text: String) -> Node {
    let plain = Node(text)
    return Resolver.default.resolveTag(of: plain) == .str ? plain : Node(text, .implicit, .doubleQuoted)
  }

  /// YAML text of `node`, block style, lines kept as long as they are (keys are one line).
  static func emit(_ node: Node) -> String {
    // Serializing a tree of plain scalars, sequences and mappings cannot fail; an empty
    // document is the one thing to write if it somehow did.
    (try? Yams.serialize(node: node, width: -1, allowUnicode: true, sortKeys: false)) ?? "{}\n"
  }
}
