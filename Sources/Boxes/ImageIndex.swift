import Foundation
import Spec
import Support

/// The image index: short names (`debian/12`) for the distributions' official
/// cloud images, each with its URL, its checksum file and the firmware it boots
/// with. Caravan ships one (Sources/Boxes/Resources/images.json, embedded in the
/// binary); `CARAVAN_IMAGE_INDEX=FILE|URL` replaces it.
public struct ImageIndex: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    public var name: String
    /// Debian's architecture names: `amd64`, `arm64`.
    public var arch: String
    public var url: String
    /// A SHA256SUMS/SHA512SUMS or BSD-format CHECKSUM file listing the image.
    public var checksumURL: String
    /// What the image boots with by default.
    public var firmware: LibvirtSettings.Firmware
  }

  public static let version = 1
  /// Where the index came from: `the shipped image index`, a file or a URL.
  public var source: String
  public var entries: [Entry]

  /// The index Caravan carries.
  public static func shipped() throws -> ImageIndex {
    try parse(Data(shippedImageIndexJSON.utf8), source: "the shipped image index")
  }

  /// `CARAVAN_IMAGE_INDEX` (a file or an http(s)/file URL) when set, else the shipped index.
  /// `fetch` reads a URL (BoxInstaller passes its download).
  public static func load(environment: [String: String], fetch: (String) throws -> Data) throws -> ImageIndex {
    guard let location = environment["CARAVAN_IMAGE_INDEX"], !location.isEmpty else { return try shipped() }
    let data = try BoxInstaller.document(
      at: location, fetch: fetch,
      missing: CaravanError(
        .notFound, "cannot read the image index '\(location)' (CARAVAN_IMAGE_INDEX)",
        hint: "Check the path, or unset CARAVAN_IMAGE_INDEX to use the index Caravan ships."))
    return try parse(data, source: "the image index \(location) (CARAVAN_IMAGE_INDEX)")
  }

  /// `{"version": 1, "images": [{"name", "arch", "url", "checksum_url", "firmware"?}, …]}`;
  /// another version, or an entry that lacks a field or has a bad one, is refused by name.
  public static func parse(_ data: Data, source: String) throws -> ImageIndex {
    let form =
      #"An image index is {"version": 1, "images": [{"name": "debian/12", "arch": "amd64", "url": "https://…", "checksum_url": "https://…/SHA512SUMS", "firmware": "bios"}]}."#
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw CaravanError(.invalidInput, "\(source) is not a JSON object", hint: form)
    }
    guard let version = object["version"] as? Int, version == ImageIndex.version else {
      throw CaravanError(
        .invalidInput,
        "\(source) has version \(object["version"].map { "\($0)" } ?? "(none)"); this Caravan reads version \(ImageIndex.version)",
        hint: "Use an index of version 1, or a Caravan that reads this version. " + form)
    }
    guard let images = object["images"] as? [Any] else {
      throw CaravanError(.invalidInput, "\(source) has no 'images' list", hint: form)
    }
    var entries: [Entry] = []
    for (index, item) in images.enumerated() {
      let entry = try self.entry(item, number: index + 1, source: source)
      if let earlier = entries.first(where: { $0.name == entry.name && $0.arch == entry.arch }) {
        throw CaravanError(
          .invalidInput, "entry \(index + 1) of \(source) repeats '\(earlier.name)' for \(earlier.arch)",
          hint: "Each name appears once per architecture; remove one of them.")
      }
      entries.append(entry)
    }
    return ImageIndex(source: source, entries: entries)
  }

  static func entry(_ item: Any, number: Int, source: String) throws -> Entry {
    let fields = item as? [String: Any] ?? [:]
    let label = (fields["name"] as? String).map { "entry \(number) (\"\($0)\")" } ?? "entry \(number)"
    func bad(_ problem: String) -> CaravanError {
      CaravanError(
        .invalidInput, "\(label) of \(source) \(problem)",
        hint:
          #"Each entry needs "name" (like "debian/12"), "arch" (like "amd64"), "url" and "checksum_url" (http, https or file URLs), and may give "firmware": "bios" or "uefi"."#
      )
    }
    guard item is [String: Any] else { throw bad("is not a JSON object") }
    func text(_ key: String) throws -> String {
      guard let value = fields[key] else { throw bad("has no \"\(key)\"") }
      guard let string = value as? String, !string.isEmpty else {
        throw bad("has a \"\(key)\" value that is not a text")
      }
      return string
    }
    let name = try text("name")
    guard name.split(separator: "/", omittingEmptySubsequences: false).count == 2,
      (try? BoxStore.validateName(name)) != nil
    else { throw bad("has the name '\(name)', which is not like 'debian/12'") }
    let arch = try text("arch")
    let url = try text("url")
    let checksumURL = try text("checksum_url")
    for (key, value) in [("url", url), ("checksum_url", checksumURL)] where !BoxInstaller.isURL(value) {
      throw bad("has the \"\(key)\" '\(value)', which is not an http, https or file URL")
    }
    var firmware = LibvirtSettings.Firmware.bios
    if fields["firmware"] != nil {
      let written = try text("firmware")
      guard let known = LibvirtSettings.Firmware(rawValue: written) else {
        throw bad("has the firmware '\(written)'; it is 'bios' or 'uefi'")
      }
      firmware = known
    }
    return Entry(name: name, arch: arch, url: url, checksumURL: checksumURL, firmware: firmware)
  }

  public var names: [String] {
    var seen = Set<String>()
    return entries.map(\.name).filter { seen.insert($0).inserted }
  }

  public func contains(_ name: String) -> Bool { entries.contains { $0.name == name } }

  /// The entry for `name` on `arch`. An unknown name lists the index's names; a
  /// name without this architecture lists the ones it has.
  public func entry(named name: String, arch: String = ImageIndex.hostArch) throws -> Entry {
    let named = entries.filter { $0.name == name }
    guard !named.isEmpty else {
      let guess = Suggestions.closest(to: name, in: names).map { "Did you mean '\($0)'? " } ?? ""
      throw CaravanError(
        .notFound, "'\(name)' is not in \(source)",
        hint: guess + "Its images: \(names.joined(separator: ", ")). `caravan box add --list-images` lists them.")
    }
    guard let entry = named.first(where: { $0.arch == arch }) else {
      throw CaravanError(
        .notFound, "\(source) has '\(name)' for \(named.map(\.arch).joined(separator: ", ")), not for \(arch)",
        hint: "Give the image's URL for \(arch) with `caravan box add NAME URL --checksum-url URL`.")
    }
    return entry
  }

  /// This machine's architecture in the index's (Debian's) words.
  public static var hostArch: String {
    #if arch(x86_64)
      return "amd64"
    #elseif arch(arm64)
      return "arm64"
    #else
      return "unknown"
    #endif
  }
}
