import Foundation
import Spec
import Support
internal import Yams

/// The `user-data` of a machine's seed: Caravan's own cloud-config, merged with the
/// user's `cloud_init` data when there is some. Nothing of either side is dropped.
///
/// - A `#cloud-config` becomes one cloud-config: the user's keys, in their order, then
///   Caravan's that the user did not write. Caravan's user is added to the user's
///   `users:` (`default` and every other entry kept); a user of the same name keeps
///   all its fields and gets Caravan's key added to its `ssh_authorized_keys` (and
///   Caravan's `sudo`, `shell` and `lock_passwd` only where it has none). For every
///   other key (`hostname`, `fqdn`, `ssh_pwauth`, …) the user's value wins: the one
///   thing Caravan insists on is the one it needs to log in, its user with its key.
///   (One with an explicitly tagged value, `!!binary`, is kept as written and goes in a
///   MIME archive as below: written again, the tag would be lost.)
/// - A script (`#!`), `#include`, `#cloud-boothook`, a Jinja template or any other
///   part cloud-init runs becomes a multi-part MIME archive of the user's part (as
///   written, with its MIME type) and Caravan's cloud-config part.
/// - A MIME archive gets Caravan's cloud-config part added as its last part; the
///   user's parts are kept byte for byte.
public enum CloudInitUserData {
  /// Caravan's part in a MIME archive says how cloud-init merges it into the user's
  /// cloud-config parts before it: cloud-init's default rule REPLACES lists (Caravan's
  /// `users:` would drop the user's); this one appends lists, keeps the user's value of
  /// every key both write, and recurses into maps.
  static let mergeHow = "list(append)+dict(no_replace,recurse_list)+str()"

  /// The user-data for `identity`, with the user's own (`userData`, named `source` in
  /// errors: a path or `inline:`) merged in.
  public static func merge(_ userData: Data?, with identity: CloudInitIdentity, source: String) throws -> Data {
    guard let userData else { return identity.cloudConfig }
    guard let text = String(data: userData, encoding: .utf8) else {
      throw CaravanError(
        .invalidInput, "the cloud-init user data \(source) is not UTF-8 text",
        hint: "Give a #cloud-config, a script or a MIME archive as text (not gzip-compressed).")
    }
    switch CloudInitFormat.of(text) {
    case .cloudConfig:
      if let merged = try mergeCloudConfig(text, with: identity, source: source) { return Data(merged.utf8) }
      return Data(
        CloudInitMIME.archive(userPart: text, type: "text/cloud-config", caravanPart: caravanPart(identity)).utf8)
    case .part(let mimeType, _):
      return Data(CloudInitMIME.archive(userPart: text, type: mimeType, caravanPart: caravanPart(identity)).utf8)
    case .mime: return Data(try CloudInitMIME.adding(caravanPart(identity), to: text, source: source).utf8)
    case nil:
      throw CaravanError(
        .invalidInput, "the cloud-init user data \(source) is not a cloud-init document",
        hint: "Start it with \(CloudInitFormat.accepted).")
    }
  }

  /// Caravan's cloud-config as a MIME part's body, with its merge rule.
  static func caravanPart(_ identity: CloudInitIdentity) -> String {
    let entries = Array(identity.cloudConfigEntries) + [(Node("merge_how"), Node(mergeHow, .implicit, .doubleQuoted))]
    return "#cloud-config\n" + CloudInitIdentity.emit(.mapping(Node.Mapping(entries)))
  }

  /// The user's cloud-config with Caravan's user, key and hostname merged in; nil when it
  /// has a scalar with an explicit tag (`content: !!binary …`), which YAML written again by
  /// Yams would lose: that cloud-config is kept as written, in a MIME archive.
  static func mergeCloudConfig(_ text: String, with identity: CloudInitIdentity, source: String) throws -> String? {
    let document: Node?
    do { document = try Yams.compose(yaml: text) } catch {
      throw CaravanError(
        .invalidInput, "the cloud-config \(source) is not valid YAML: \(error)",
        hint: "Fix the YAML (`caravan validate` shows where).", cause: error)
    }
    if let document, hasExplicitScalarTag(document) { return nil }
    var pairs: [(Node, Node)] = []
    switch document {
    case nil: break
    case .scalar(let scalar)? where Resolver.default.resolveTag(of: .scalar(scalar)) == .null: break
    case .mapping(let mapping)?: pairs = Array(mapping)
    default:
      throw CaravanError(
        .invalidInput, "the cloud-config \(source) is not a YAML map of keys (`users:`, `packages:`, …)",
        hint: "Write a cloud-config as `key: value` lines under #cloud-config.")
    }
    let own = identity.cloudConfigEntries
    if let at = pairs.firstIndex(where: { $0.0.string == "users" }) {
      pairs[at].1 = mergedUsers(pairs[at].1, identity)
    }
    for (key, value) in own where !pairs.contains(where: { $0.0.string == key.string }) {
      pairs.append((key, value))
    }
    return "#cloud-config\n" + CloudInitIdentity.emit(.mapping(Node.Mapping(pairs)))
  }

  /// Whether a scalar under `node` was written with a tag (`!!binary`, `!!str`, `!local`).
  static func hasExplicitScalarTag(_ node: Node) -> Bool {
    switch node {
    case .scalar(let scalar):
      // Yams gives an untagged scalar the implicit tag "" or `str` (quoted, block, keys):
      // `str` is only explicit on a plain text that would read as something else (`!!str 12`).
      let tag = scalar.tag.description
      guard !tag.isEmpty else { return false }
      guard tag == Tag.Name.str.rawValue else { return true }
      return scalar.style == .plain && Resolver.default.resolveTag(of: Node(scalar.string)) != .str
    case .sequence(let sequence): return sequence.contains(where: hasExplicitScalarTag)
    case .mapping(let mapping):
      return mapping.contains { hasExplicitScalarTag($0.key) || hasExplicitScalarTag($0.value) }
    case .alias: return false
    }
  }

  /// The user's `users:` (a list, a comma-separated string or a map of names) as a list,
  /// with Caravan's user added or merged into theirs of the same name.
  static func mergedUsers(_ users: Node, _ identity: CloudInitIdentity) -> Node {
    var entries: [Node]
    switch users {
    case .sequence(let sequence): entries = Array(sequence)
    case .scalar(let scalar):
      entries = scalar.string.split(separator: ",").map { Node($0.trimmingCharacters(in: .whitespaces)) }
    case .mapping(let mapping):
      entries = mapping.map { name, fields in
        Node.mapping(Node.Mapping([(Node("name"), name)] + (fields.mapping.map(Array.init) ?? [])))
      }
    case .alias: entries = [users]
    }
    var found = false
    for (index, entry) in entries.enumerated() {
      if entry.string == identity.user {
        entries[index] = .mapping(identity.userEntry)
        found = true
      } else if let mapping = entry.mapping, mapping[Node("name")]?.string == identity.user {
        entries[index] = .mapping(withCaravanKey(mapping, identity))
        found = true
      }
    }
    if !found { entries.append(.mapping(identity.userEntry)) }
    return Node(entries)
  }

  /// The user's own entry for Caravan's login user: all their fields, Caravan's key added
  /// to `ssh_authorized_keys`, and Caravan's other fields where they wrote none.
  static func withCaravanKey(_ entry: Node.Mapping, _ identity: CloudInitIdentity) -> Node.Mapping {
    var pairs = Array(entry)
    let key = CloudInitIdentity.string(identity.publicKey)
    if let at = pairs.firstIndex(where: { $0.0.string == "ssh_authorized_keys" }) {
      var keys: [Node]
      switch pairs[at].1 {
      case .sequence(let sequence): keys = Array(sequence)
      case let other: keys = [other]
      }
      if !keys.contains(where: { $0.string == identity.publicKey }) { keys.append(key) }
      pairs[at].1 = Node(keys)
    } else {
      pairs.append((Node("ssh_authorized_keys"), Node([key])))
    }
    for (field, value) in identity.userFields where !pairs.contains(where: { $0.0.string == field.string }) {
      pairs.append((field, value))
    }
    return Node.Mapping(pairs)
  }
}
