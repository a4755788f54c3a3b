import Foundation
import Spec
import Support

/// `box add` in all its forms: a catalog (by URL or path, or a name looked up
/// on the box server), a box URL, or a box file. Downloads are checked and
/// unpacked while they stream; nothing is installed unless all of it is right.
public final class BoxInstaller {
  public struct Request: Sendable {
    /// A box name, a catalog or box URL, or a file path.
    public var source: String
    /// The name to install under (needed for a box URL or file; overrides a catalog's).
    public var name: String?
    /// A constraint for catalogs (`~> 12.0`), or the version to record for a box URL or file.
    public var version: String?
    public var checksum: Checksum?
    /// A SHA256SUMS/SHA512SUMS/CHECKSUM file (URL or path) whose line for the
    /// source's file name gives the checksum; exclusive with `checksum`.
    public var checksumURL: String?
    public var force: Bool
    /// `version` came from a Machinefile's `box … version:`: for a plain box
    /// (no catalog) a constraint records version 0 instead of failing.
    public var versionIsConstraint = false

    public init(
      source: String, name: String? = nil, version: String? = nil, checksum: Checksum? = nil,
      checksumURL: String? = nil, force: Bool = false
    ) {
      self.source = source
      self.name = name
      self.version = version
      self.checksum = checksum
      self.checksumURL = checksumURL
      self.force = force
    }
  }

  public let store: BoxStore
  let environment: [String: String]
  /// Steps: "downloading …", "verifying …".
  public var onStep: (String) -> Void = { _ in }
  public var onProgress: ((Download.Progress) -> Void)?

  public init(store: BoxStore, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.store = store
    self.environment = environment
  }

  var token: String? { environment["CARAVAN_CLOUD_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } }

  /// A download of `url`, carrying CARAVAN_CLOUD_TOKEN only when `url` is on
  /// the box server itself (see `sendsToken`).
  func makeDownload(_ url: String) -> Download {
    let send = BoxInstaller.sendsToken(to: url, server: serverURL)
    let download = Download(url: url, bearerToken: send ? token : nil)
    if token != nil && !send {
      download.withheldToken =
        "CARAVAN_CLOUD_TOKEN is sent only to the box server CARAVAN_SERVER_URL (\(serverURL)), not to \(url)"
    }
    return download
  }

  /// A small document (a catalog, a checksum file, an image index) fetched like boxes
  /// are, 16 MiB at most.
  func smallDocument(_ url: String) throws -> Data {
    let download = makeDownload(url)
    download.maximumSize = 16 << 20
    return try download.data()
  }

  /// A small document at `location`: a URL (through `fetch`) or a path; `missing` is
  /// the error for a path that cannot be read.
  static func document(
    at location: String, fetch: (String) throws -> Data, missing: @autoclosure () -> CaravanError
  ) throws -> Data {
    if isURL(location) { return try fetch(location) }
    guard let contents = FileManager.default.contents(atPath: location) else { throw missing() }
    return contents
  }

  /// Whether the token may go to `url`: only to the box server's own origin,
  /// the same scheme, host and port as `server` (CARAVAN_SERVER_URL). So never
  /// to a catalog's provider URL on another host, a Machinefile's `url:`
  /// elsewhere, or plain http unless the server itself was given as http (the
  /// user's explicit choice). libcurl keeps it from a redirect to another host.
  public static func sendsToken(to url: String, server: String) -> Bool {
    guard let target = Origin(url), let origin = Origin(server) else { return false }
    return target == origin
  }

  /// Scheme, host and port of an http(s) URL, with the scheme's default port filled in.
  struct Origin: Equatable {
    var scheme: String
    var host: String
    var port: Int

    init?(_ text: String) {
      guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(),
        scheme == "http" || scheme == "https", let host = parts.host?.lowercased(), !host.isEmpty
      else { return nil }
      self.scheme = scheme
      self.host = host
      port = parts.port ?? (scheme == "https" ? 443 : 80)
    }
  }

  /// Where a bare box name (`owner/name`) is looked up: `$CARAVAN_SERVER_URL/NAME`.
  var serverURL: String {
    environment["CARAVAN_SERVER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://vagrantcloud.com"
  }

  static func isURL(_ text: String) -> Bool {
    ["http://", "https://", "file://"].contains { text.lowercased().hasPrefix($0) }
  }

  @discardableResult
  public func add(_ request: Request) throws -> InstalledBox {
    let source = request.source
    if OCIReference.isOCI(source) {
      return try OCIBox.pull(
        try OCIReference(parsing: source), name: request.name,
        version: request.version.flatMap {
          BoxVersionNumber($0) != nil ? $0 : nil
        }, force: request.force, expectedDigest: request.checksum?.hex, store: store, environment: environment,
        step: onStep)
    }
    if BoxInstaller.isURL(source) {
      if source.lowercased().hasSuffix(".json") { return try addFromCatalog(url: source, request) }
      return try addFromURL(source, request)
    }
    if FileManager.default.fileExists(atPath: source) {
      if try isCatalogFile(source) { return try addFromCatalog(url: source, request) }
      return try addFromFile(source, request)
    }
    if source.contains("/") && !source.hasPrefix(".") && !source.hasPrefix("/")
      && source.split(separator: "/").count == 2
    {
      let index = try imageIndex()
      if index.contains(source) { return try addFromIndex(try index.entry(named: source), request, from: index.source) }
      return try addFromServer(source, request, index: index)
    }
    throw CaravanError(
      .invalidInput, "'\(source)' is neither a file, a URL nor a box name like 'owner/box'",
      hint:
        "Give a .box file, a cloud image, a box, image or catalog URL, an image index name (`caravan box add --list-images`) or a catalog name served by $CARAVAN_SERVER_URL."
    )
  }

  func isCatalogFile(_ path: String) throws -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CaravanError(.notFound, "cannot open '\(path)'", hint: "Check the path and that you may read it.")
    }
    defer { try? handle.close() }
    return BoxCatalog.looksLikeCatalog((try? handle.read(upToCount: 64)) ?? Data())
  }

  func plainVersion(_ request: Request, source: String) throws -> String {
    guard let version = request.version else { return "0" }
    guard BoxVersionNumber(version) != nil else {
      if request.versionIsConstraint { return "0" }
      throw CaravanError(
        .invalidInput, "'\(version)' is not a version to record for \(source)",
        hint:
          "A box file or URL gets one version, like --box-version 12.1.0; constraints like '~> 12.0' need a catalog.")
    }
    return version
  }

  func requireName(_ request: Request, source: String) throws -> String {
    guard let name = request.name else {
      throw CaravanError(
        .invalidInput, "the box at '\(source)' needs a name",
        hint: "Run `caravan box add NAME \(source)` (or add --name NAME).")
    }
    return name
  }

  /// A `.box` file or a disk image (told apart by its content), as `request.name`.
  func addFromFile(_ path: String, _ request: Request) throws -> InstalledBox {
    let name = try requireName(request, source: path)
    let version = try plainVersion(request, source: path)
    if let installed = try alreadyInstalled(name, version, request) { return installed }
    let checksum = try expectedChecksum(request, image: path)
    return try store.install(name: name, version: version, force: request.force, source: path) { staging in
      onStep("adding box '\(name)' from \(path)" + (checksum.map { ", checking its \($0.kind.rawValue)" } ?? ""))
      guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CaravanError(.notFound, "cannot open '\(path)'", hint: "Check the path and that you may read it.")
      }
      defer { try? handle.close() }
      var sink = BoxSourceSink(into: staging, source: path, checksum: checksum)
      let outcome = try sink.consume { feed in
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
          try chunk.withUnsafeBytes { try feed($0) }
        }
      }
      try finishImage(outcome, in: staging, source: path, checksumURL: request.checksumURL, index: nil)
    }
  }

  func addFromURL(_ url: String, _ request: Request) throws -> InstalledBox {
    let name = try requireName(request, source: url)
    let version = try plainVersion(request, source: url)
    if request.checksumURL != nil, let installed = try alreadyInstalled(name, version, request) { return installed }
    return try download(
      url, name: name, version: version,
      checksum: try expectedChecksum(request, image: url), force: request.force, reuse: request.versionIsConstraint,
      checksumURL: request.checksumURL)
  }

  /// Streams a box or an image from `url` into the store, hashing (and unpacking a box) on the way.
  func download(
    _ url: String, name: String, version: String, checksum: Checksum?, force: Bool, reuse: Bool,
    checksumURL: String? = nil, index: ImageIndex.Entry? = nil
  ) throws -> InstalledBox {
    try store.install(name: name, version: version, force: force, reuseExisting: reuse, source: url) { staging in
      onStep(
        "downloading box '\(name)' (\(version)) from \(url)"
          + (checksum.map { ", checking its \($0.kind.rawValue)" } ?? ""))
      var sink = BoxSourceSink(into: staging, source: url, checksum: checksum)
      let download = makeDownload(url)
      download.onProgress = onProgress
      let outcome = try sink.consume { feed in try withoutActuallyEscaping(feed) { try download.run(sink: $0) } }
      try finishImage(outcome, in: staging, source: url, checksumURL: checksumURL, index: index)
    }
  }

  /// Reads a catalog from a URL or a path.
  public func catalog(at location: String) throws -> BoxCatalog {
    let data = try BoxInstaller.document(
      at: location, fetch: smallDocument,
      missing: CaravanError(.notFound, "cannot read the box catalog '\(location)'", hint: "Check the path."))
    return try BoxCatalog.parse(data, source: location)
  }

  func addFromCatalog(url location: String, _ request: Request) throws -> InstalledBox {
    let catalog = try catalog(at: location)
    let constraint = try request.version.map { try VersionConstraint(parsing: $0) }
    let selection = try catalog.select(constraint: constraint)
    let name = request.name ?? catalog.name
    if !request.force,
      let installed = try store.list().first(where: { $0.name == name && $0.version == selection.version })
    {
      onStep("box '\(name)' (\(selection.version)) is already installed")
      return installed
    }
    var checksum = request.checksum
    if checksum == nil, let type = selection.provider.checksumType, let value = selection.provider.checksum,
      !value.isEmpty
    {
      checksum = try Checksum(type: type, value: value)
    }
    let boxURL = BoxInstaller.resolve(selection.provider.url, against: location)
    let box: InstalledBox
    if BoxInstaller.isURL(boxURL) {
      box = try download(
        boxURL, name: name, version: selection.version, checksum: checksum, force: request.force, reuse: true)
    } else {
      onStep("adding box '\(name)' (\(selection.version)) from \(boxURL)")
      box = try store.add(
        name: name, file: boxURL, version: selection.version, checksum: checksum, force: request.force)
    }
    try? store.recordCatalogURL(BoxInstaller.isURL(location) ? location : FileSystem.absolute(location), name: name)
    return box
  }

  /// A provider URL relative to its catalog (`boxes/x.box` next to `catalog.json`).
  static func resolve(_ url: String, against catalog: String) -> String {
    if isURL(url) { return url }
    if isURL(catalog) {
      if let base = URL(string: catalog), let resolved = URL(string: url, relativeTo: base) {
        return resolved.absoluteString
      }
      return url
    }
    if url.hasPrefix("/") { return url }
    let folder = (FileSystem.absolute(catalog) as NSString).deletingLastPathComponent
    return (folder as NSString).appendingPathComponent(url)
  }
}
