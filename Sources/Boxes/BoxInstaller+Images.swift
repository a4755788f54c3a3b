import Foundation
import Spec
import Support

/// Cloud images as boxes: image index names (`debian/12`), checksum files, and
/// the image's box folder once its bytes are in.
extension BoxInstaller {
  /// The image index: `CARAVAN_IMAGE_INDEX` (a file or URL) when set, else the one Caravan ships.
  public func imageIndex() throws -> ImageIndex {
    try ImageIndex.load(environment: environment, fetch: smallDocument)
  }

  /// Whether `name` is an image index name `add` resolves through the index
  /// (what `up` asks for a box that is not installed and has no `url:`).
  public func isImageName(_ name: String) throws -> Bool {
    guard name.split(separator: "/", omittingEmptySubsequences: false).count == 2 else { return false }
    return try imageIndex().contains(name)
  }

  /// The checksum to check `image` against: `--checksum`, else the line for the
  /// image's file name in `--checksum-url`'s file, else none.
  func expectedChecksum(_ request: Request, image: String) throws -> Checksum? {
    if let checksum = request.checksum {
      if request.checksumURL != nil {
        throw CaravanError(
          .invalidInput, "both a checksum and a checksum file were given for \(image)",
          hint: "Give --checksum TYPE:HEX or --checksum-url URL, not both.")
      }
      return checksum
    }
    guard let checksumURL = request.checksumURL else { return nil }
    return try checksum(fromFile: checksumURL, forImage: image)
  }

  /// Reads the checksum file at `location` (a URL, fetched like boxes are, or a
  /// path) and returns its line for `image`'s file name.
  public func checksum(fromFile location: String, forImage image: String) throws -> Checksum {
    let fileName = ChecksumFile.imageFileName(of: image)
    onStep("reading the checksum of \(fileName) from \(location)")
    let data = try BoxInstaller.document(
      at: location, fetch: smallDocument,
      missing: CaravanError(
        .notFound, "cannot read the checksum file '\(location)'",
        hint: "Give the path or URL of the image's SHA256SUMS/SHA512SUMS file."))
    return try ChecksumFile.parse(String(decoding: data, as: UTF8.self), source: location).checksum(for: fileName)
  }

  /// `box add debian/12`: the index entry's image, checked against its
  /// checksum file (or the request's own checksum), recorded as version 0.
  func addFromIndex(_ entry: ImageIndex.Entry, _ request: Request, from index: String) throws -> InstalledBox {
    let name = request.name ?? entry.name
    let version = try plainVersion(request, source: entry.url)
    if let installed = try alreadyInstalled(name, version, request) { return installed }
    var withFile = request
    if withFile.checksum == nil && withFile.checksumURL == nil { withFile.checksumURL = entry.checksumURL }
    onStep("'\(entry.name)' is \(entry.url) (\(entry.arch), \(entry.firmware.rawValue)) in \(index)")
    return try download(
      entry.url, name: name, version: version, checksum: try expectedChecksum(withFile, image: entry.url),
      force: request.force, reuse: request.versionIsConstraint, checksumURL: withFile.checksumURL, index: entry)
  }

  /// Before anything is fetched (a checksum file, an image): the installed box
  /// when `request` may reuse it (`up`), a conflict when it may not replace it.
  func alreadyInstalled(_ name: String, _ version: String, _ request: Request) throws -> InstalledBox? {
    guard !request.force, let installed = try store.list().first(where: { $0.name == name && $0.version == version })
    else { return nil }
    if request.versionIsConstraint { return installed }
    throw BoxStore.alreadyInstalled(name, version)
  }

  /// `box add OWNER/NAME` that is no image index name: the catalog on the box
  /// server. When that cannot be read, the error also lists the index's names.
  func addFromServer(_ source: String, _ request: Request, index: ImageIndex) throws -> InstalledBox {
    do {
      return try addFromCatalog(url: serverURL + "/" + source, request)
    } catch let error as CaravanError where error.kind == .io && error.message.hasPrefix("download of ") {
      throw CaravanError(
        error.kind, "'\(source)' is neither in \(index.source) nor a box catalog at \(serverURL): \(error.message)",
        hint: "Images in the index: \(index.names.joined(separator: ", ")). \(error.hint ?? "")", cause: error)
    }
  }

  /// After the bytes are in: an archive is already unpacked; an image becomes box.img and metadata.json.
  func finishImage(
    _ outcome: BoxSourceSink.Outcome, in staging: String, source: String, checksumURL: String?,
    index: ImageIndex.Entry?
  ) throws {
    guard case .image(let path, let content, let digest) = outcome else { return }
    onStep("\(source) is a \(content.rawValue) disk image\(content == .raw ? "; converting it to qcow2" : "")")
    let origin = ImageOrigin(
      format: content.rawValue, firmware: index?.firmware ?? .bios, source: source, indexName: index?.name,
      checksum: digest.description, checksumURL: checksumURL)
    try ImageBox.prepare(downloaded: path, content: content, in: staging, origin: origin, source: source)
  }
}
