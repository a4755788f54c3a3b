import Foundation
import Spec
import Support

/// Vagrant's box catalog (the "metadata URL" JSON): a box name and its versions,
/// each with providers that say where the box file is and its checksum.
public struct BoxCatalog: Sendable, Equatable {
  public struct Version: Sendable, Equatable {
    public var version: String
    public var status: String?
    public var providers: [Provider]
  }

  public struct Provider: Sendable, Equatable {
    public var name: String
    public var url: String
    public var checksumType: String?
    public var checksum: String?
    public var architecture: String?
    public var defaultArchitecture: Bool
  }

  public struct Selection: Sendable, Equatable {
    public var version: String
    public var provider: Provider
  }

  public var name: String
  public var description: String?
  public var versions: [Version]

  /// Whether the first bytes of a file or response are a catalog rather than a
  /// box archive: the first byte that is not white space is `{`.
  public static func looksLikeCatalog(_ prefix: Data) -> Bool {
    prefix.first { ![9, 10, 13, 32].contains($0) } == UInt8(ascii: "{")
  }

  static let shape =
    #"A catalog looks like {"name": "owner/box", "versions": [{"version": "1.0.0", "providers": [{"name": "libvirt", "url": "…"}]}]}."#

  public static func parse(_ data: Data, source: String) throws -> BoxCatalog {
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: data)
    } catch {
      throw CaravanError(.invalidInput, "the box catalog '\(source)' is not JSON (\(opening(data)))", hint: shape)
    }
    guard let object = json as? [String: Any] else {
      throw CaravanError(.invalidInput, "the box catalog '\(source)' is not a JSON object", hint: shape)
    }
    guard let name = object["name"] as? String, !name.isEmpty else {
      throw CaravanError(
        .invalidInput, "the box catalog '\(source)' has no \"name\"",
        hint: "Add the box's name, like \"name\": \"owner/box\".")
    }
    guard let versions = object["versions"] as? [Any] else {
      throw CaravanError(.invalidInput, "the box catalog '\(source)' has no \"versions\" list", hint: shape)
    }
    let parsed = try versions.enumerated().map { index, entry in
      try parseVersion(entry, number: index + 1, source: source)
    }
    return BoxCatalog(name: name, description: object["description"] as? String, versions: parsed)
  }

  private static func parseVersion(_ json: Any, number: Int, source: String) throws -> Version {
    let place = "version #\(number) in the box catalog '\(source)'"
    guard let entry = json as? [String: Any] else {
      throw CaravanError(.invalidInput, "\(place) is not an object", hint: shape)
    }
    guard let value = entry["version"], !(value is NSNull) else {
      throw CaravanError(
        .invalidInput, "\(place) has no \"version\"", hint: #"Give each version a number, like "version": "1.0.0"."#)
    }
    guard let version = value as? String else {
      throw CaravanError(
        .invalidInput, "\(place) has a \"version\" that is not a string", hint: #"Quote it, like "version": "1.0.0"."#)
    }
    let status = entry["status"] as? String
    let list: [Any]
    switch entry["providers"] {
    case nil, is NSNull: list = []
    case let given as [Any]: list = given
    default:
      throw CaravanError(
        .invalidInput, "version \(version) in the box catalog '\(source)' has a \"providers\" that is not a list",
        hint: shape)
    }
    let providers = try list.map { try parseProvider($0, version: version, source: source) }
    return Version(version: version, status: status, providers: providers)
  }

  private static func parseProvider(_ json: Any, version: String, source: String) throws -> Provider {
    guard let provider = json as? [String: Any] else {
      throw CaravanError(
        .invalidInput, "a provider of version \(version) in the box catalog '\(source)' is not an object", hint: shape)
    }
    guard let name = provider["name"] as? String, !name.isEmpty else {
      throw CaravanError(
        .invalidInput, "a provider of version \(version) in the box catalog '\(source)' has no \"name\"",
        hint: #"Name the provider, like "name": "libvirt"."#)
    }
    guard let url = provider["url"] as? String, !url.isEmpty else {
      throw CaravanError(
        .invalidInput, "the \(name) provider of version \(version) in the box catalog '\(source)' has no \"url\"",
        hint: "Give the address of the .box file, absolute or relative to the catalog.")
    }
    return Provider(
      name: name, url: url,
      checksumType: provider["checksum_type"] as? String,
      checksum: provider["checksum"] as? String,
      architecture: provider["architecture"] as? String,
      defaultArchitecture: provider["default_architecture"] as? Bool ?? false)
  }

  /// How something that is not JSON starts, for the message: an HTML login page
  /// or an error text usually says what went wrong; binary is likely a box file.
  private static func opening(_ data: Data) -> String {
    let text = String(decoding: data.prefix(40), as: UTF8.self)
    let isBinary = text.unicodeScalars.contains {
      $0 == "\u{FFFD}" || ($0.value < 0x20 && !["\t", "\n", "\r"].contains($0)) || $0.value == 0x7F
    }
    if isBinary { return "it starts with binary data: is it a .box file rather than its catalog?" }
    let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    return "it starts with '" + (line.count < text.count || data.count > 40 ? line + "…" : line) + "'"
  }
}

// MARK: - Choosing a version

extension BoxCatalog {
  /// Active versions whose number is dotted numbers, newest first.
  var usableVersions: [(number: BoxVersionNumber, entry: Version)] {
    versions.compactMap { entry -> (number: BoxVersionNumber, entry: Version)? in
      guard entry.status == nil || entry.status == "active", let number = BoxVersionNumber(entry.version) else {
        return nil
      }
      return (number, entry)
    }.sorted { $0.number > $1.number }
  }

  /// The provider of `entry` for this host. A provider without an architecture
  /// (or "unknown") fits any host, others only their own; among those that fit,
  /// the one built for exactly this host wins, then the default architecture.
  static func provider(in entry: Version, named provider: String, architecture: String) -> Provider? {
    let fitting = entry.providers.filter {
      $0.name == provider && ($0.architecture == nil || $0.architecture == "unknown" || $0.architecture == architecture)
    }
    return fitting.first { $0.architecture == architecture }
      ?? fitting.first { $0.defaultArchitecture }
      ?? fitting.first
  }

  /// The newest version matching `constraint` (nil = any) that has a provider
  /// named `provider` for `architecture`.
  public func select(
    constraint: VersionConstraint?, provider: String = "libvirt", architecture: String = HostArchitecture.current
  ) throws -> Selection {
    let usable = usableVersions
    for (number, entry) in usable where constraint?.matches(number) ?? true {
      if let chosen = BoxCatalog.provider(in: entry, named: provider, architecture: architecture) {
        return Selection(version: entry.version, provider: chosen)
      }
    }
    // Nothing fits: say why, from the widest reason to the narrowest.
    guard !usable.isEmpty else {
      if versions.isEmpty {
        throw CaravanError(
          .invalidInput, "box '\(name)' has no versions in its catalog",
          hint: "The box's publisher has not released one yet.")
      }
      let listed = versions.map { "\($0.version) (\($0.status ?? "active"))" }.joined(separator: ", ")
      throw CaravanError(
        .invalidInput, "box '\(name)' has no active version with a number like 1.2.3 (its catalog lists: \(listed))",
        hint: "The box's publisher has revoked or not yet released every version.")
    }
    let withProvider = usable.filter { $0.entry.providers.contains { $0.name == provider } }
    if withProvider.isEmpty {
      let others = Set(usable.flatMap { $0.entry.providers.map(\.name) }).sorted()
      throw CaravanError(
        .invalidInput,
        "box '\(name)' has no \(provider) provider (it has: \(others.isEmpty ? "none" : others.joined(separator: ", ")))",
        hint: "Caravan runs libvirt boxes only; look for a libvirt build of this box.")
    }
    let fitting = withProvider.filter {
      BoxCatalog.provider(in: $0.entry, named: provider, architecture: architecture) != nil
    }
    if fitting.isEmpty {
      let arches = Set(
        withProvider.flatMap { $0.entry.providers.filter { $0.name == provider }.compactMap(\.architecture) })
      throw CaravanError(
        .invalidInput,
        "box '\(name)' has no \(provider) provider for architecture '\(architecture)' (it has: \(arches.sorted().joined(separator: ", ")))",
        hint: "Use a box built for \(architecture), or run Caravan on a host of one of those architectures.")
    }
    let list = fitting.map(\.entry.version).reversed().joined(separator: ", ")
    throw CaravanError(
      .invalidInput,
      "box '\(name)' has no version matching '\(constraint?.description ?? "any")' with a \(provider) provider; versions with one: \(list)",
      hint: "Change the version constraint (`version:` in the Machinefile, or --box-version).")
  }

  /// Every version newer than `version` that matches the constraint and has the
  /// provider (for `box outdated`), newest first. A `version` that is not dotted
  /// numbers (a box added from a file without one) counts as older than all.
  public func newer(
    than version: String, constraint: VersionConstraint?, provider: String = "libvirt",
    architecture: String = HostArchitecture.current
  ) -> [Selection] {
    let current = BoxVersionNumber(version) ?? BoxVersionNumber(segments: [0])
    return usableVersions.compactMap { number, entry in
      guard number > current, constraint?.matches(number) ?? true,
        let chosen = BoxCatalog.provider(in: entry, named: provider, architecture: architecture)
      else { return nil }
      return Selection(version: entry.version, provider: chosen)
    }
  }
}

/// The host's architecture in Vagrant's words (`Vagrant::Util::Platform.architecture`).
public enum HostArchitecture {
  public static var current: String { name(machine: machine) }

  /// Vagrant's name for a `uname -m`: amd64, arm64, i386, else the machine as is.
  public static func name(machine: String) -> String {
    switch machine {
    case "x86_64", "amd64", "x64": return "amd64"
    case "aarch64", "arm64": return "arm64"
    case "i386", "i486", "i586", "i686", "x86", "386": return "i386"
    default: return machine
    }
  }

  static let machine: String = {
    var info = utsname()
    guard uname(&info) == 0 else { return "unknown" }
    return withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  }()
}
