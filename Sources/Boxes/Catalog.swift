import Foundation

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

  public static func looksLikeCatalog(_ prefix: Data) -> Bool {
    prefix.first { ![9, 10, 13, 32].contains($0) } == UInt8(ascii: "{")
  }

  public static func parse(_ data: Data, source: String) throws -> BoxCatalog {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw BoxError("the box catalog '\(source)' is not a JSON object", hint: "A catalog looks like {\"name\": \"owner/box\", \"versions\": [...]}.")
    }
    guard let name = object["name"] as? String, !name.isEmpty else {
      throw BoxError("the box catalog '\(source)' has no \"name\"", hint: "Add the box's name, like \"name\": \"owner/box\".")
    }
    guard let versions = object["versions"] as? [[String: Any]] else {
      throw BoxError("the box catalog '\(source)' has no \"versions\" list", hint: "Each version looks like {\"version\": \"1.0.0\", \"providers\": [...]}.")
    }
    var parsed: [Version] = []
    for (index, entry) in versions.enumerated() {
      guard let version = entry["version"] as? String else {
        throw BoxError("version #\(index + 1) in the box catalog '\(source)' has no \"version\"")
      }
      var providers: [Provider] = []
      for provider in entry["providers"] as? [[String: Any]] ?? [] {
        guard let providerName = provider["name"] as? String else {
          throw BoxError("a provider of version \(version) in the box catalog '\(source)' has no \"name\"")
        }
        guard let url = provider["url"] as? String, !url.isEmpty else {
          throw BoxError("the \(providerName) provider of version \(version) in the box catalog '\(source)' has no \"url\"")
        }
        providers.append(Provider(
          name: providerName, url: url, checksumType: provider["checksum_type"] as? String,
          checksum: provider["checksum"] as? String, architecture: provider["architecture"] as? String,
          defaultArchitecture: provider["default_architecture"] as? Bool ?? false))
      }
      parsed.append(Version(version: version, status: entry["status"] as? String, providers: providers))
    }
    return BoxCatalog(name: name, description: object["description"] as? String, versions: parsed)
  }

  /// Active versions with a valid number, newest first.
  var usableVersions: [(number: BoxVersionNumber, entry: Version)] {
    versions.compactMap { entry -> (BoxVersionNumber, Version)? in
      guard entry.status == nil || entry.status == "active", let number = BoxVersionNumber(entry.version) else { return nil }
      return (number, entry)
    }.sorted { $0.0 > $1.0 }
  }

  /// The provider of `entry` for this host: exact architecture, then one that
  /// fits any (none or "unknown"), then the default architecture among fitting ones.
  static func provider(in entry: Version, named provider: String, architecture: String) -> Provider? {
    let named = entry.providers.filter { $0.name == provider }
    let fitting = named.filter { $0.architecture == nil || $0.architecture == "unknown" || $0.architecture == architecture }
    return fitting.first { $0.architecture == architecture }
      ?? fitting.first { $0.defaultArchitecture }
      ?? fitting.first
  }

  public func select(constraint: VersionConstraint?, provider: String = "libvirt",
                     architecture: String = HostArchitecture.current) throws -> Selection {
    let usable = usableVersions
    for (number, entry) in usable where constraint?.matches(number) ?? true {
      if let chosen = BoxCatalog.provider(in: entry, named: provider, architecture: architecture) {
        return Selection(version: entry.version, provider: chosen)
      }
    }
    let withProvider = usable.filter { $0.entry.providers.contains { $0.name == provider } }
    if withProvider.isEmpty {
      let others = Set(versions.flatMap { $0.providers.map(\.name) }).sorted()
      throw BoxError("box '\(name)' has no \(provider) provider (it has: \(others.isEmpty ? "none" : others.joined(separator: ", ")))",
        hint: "Caravan runs libvirt boxes only; look for a libvirt build of this box.")
    }
    let fitting = withProvider.filter { BoxCatalog.provider(in: $0.entry, named: provider, architecture: architecture) != nil }
    if fitting.isEmpty {
      let arches = Set(withProvider.flatMap { $0.entry.providers.filter { $0.name == provider }.compactMap(\.architecture) }).sorted()
      throw BoxError("box '\(name)' has no \(provider) provider for architecture '\(architecture)' (it has: \(arches.joined(separator: ", ")))",
        hint: "Use a box built for \(architecture).")
    }
    let list = fitting.map(\.entry.version).reversed().joined(separator: ", ")
    throw BoxError("box '\(name)' has no version matching '\(constraint?.description ?? "any")' with a \(provider) provider; versions with one: \(list)",
      hint: "Change the version constraint (`version:` in the Machinefile, or --box-version).")
  }

  public func newer(than version: String, constraint: VersionConstraint?, provider: String = "libvirt",
                    architecture: String = HostArchitecture.current) -> [Selection] {
    let current = BoxVersionNumber(version) ?? BoxVersionNumber(segments: [0])
    return usableVersions.compactMap { number, entry in
      guard number > current, constraint?.matches(number) ?? true,
        let chosen = BoxCatalog.provider(in: entry, named: provider, architecture: architecture)
      else { return nil }
      return Selection(version: entry.version, provider: chosen)
    }
  }
}

/// The host's architecture in Vagrant's words.
public enum HostArchitecture {
  public static var current: String {
    var info = utsname()
    uname(&info)
    let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    switch machine {
    case "x86_64", "amd64": return "amd64"
    case "aarch64", "arm64": return "arm64"
    case "i386", "i686": return "386"
    default: return machine
    }
  }
}
