import Foundation
import Spec
import Support

/// A box as an OCI artifact: an image manifest whose config is the box's
/// `metadata.json` (media type `application/vnd.caravan.box.config.v1+json`) and
/// whose layers are its disk images, one blob each, named by the
/// `org.opencontainers.image.title` annotation. Blobs are addressed by their
/// sha256, so a version that shares a disk with one pushed before uploads only
/// what changed, and a pull checks every byte it installs.
public enum OCIBox {
  public static let manifestType = "application/vnd.oci.image.manifest.v1+json"
  public static let configType = "application/vnd.caravan.box.config.v1+json"
  public static let diskType = "application/vnd.caravan.box.disk.v1"
  static let titleKey = "org.opencontainers.image.title"
  static let nameKey = "dev.caravan.box.name"
  static let versionKey = "dev.caravan.box.version"

  /// What a push did: the manifest's digest, and which blobs went up or were there.
  public struct Pushed: Sendable {
    public var digest: String
    public var uploaded: [String]
    public var present: [String]
  }

  /// Pushes an installed box to `reference` (its tag); blobs the registry has are not sent again.
  public static func push(
    _ box: InstalledBox, to reference: OCIReference, environment: [String: String], step: (String) -> Void
  ) throws -> Pushed {
    let registry = OCIRegistry(reference, environment: environment)
    var pushed = Pushed(digest: "", uploaded: [], present: [])
    var layers: [[String: Any]] = []
    let digests = try BoxImageDigest.disks(in: box.directory, metadata: box.metadata)
    for disk in box.metadata.disks {
      guard let hex = digests[disk] else { continue }
      let path = box.directory + "/" + disk
      let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
      try pushBlob(
        registry, digest: "sha256:" + hex, size: size, body: .file(path), what: "disk image '\(disk)'",
        into: &pushed, step: step)
      layers.append([
        "mediaType": diskType, "digest": "sha256:" + hex, "size": size, "annotations": [titleKey: disk],
      ])
    }
    guard let config = FileManager.default.contents(atPath: box.directory + "/metadata.json") else {
      throw CaravanError(.notFound, "box '\(box.name)' (\(box.version)) has no metadata.json in \(box.directory)")
    }
    let configDigest = "sha256:" + sha256(config)
    try pushBlob(
      registry, digest: configDigest, size: config.count, body: .data(config), what: "metadata.json", into: &pushed,
      step: step)
    pushed.digest = try putManifest(
      registry, config: (configType, configDigest, config.count), layers: layers,
      annotations: [nameKey: box.name, versionKey: box.version])
    return pushed
  }

  /// Uploads one blob unless the registry has it (HEAD first): monolithic, POST then PUT
  /// with its digest, so the registry keeps it only when it is whole. `pushed` records it
  /// as uploaded or as there already.
  static func pushBlob(
    _ registry: OCIRegistry, digest: String, size: Int, body: HTTPRequest.Body, what: String,
    into pushed: inout Pushed, step: (String) -> Void
  ) throws {
    let reference = registry.reference
    let repository = "/v2/\(reference.repository)"
    let head = try registry.send("HEAD", "\(repository)/blobs/\(digest)")
    if head.status == 200 {
      step("\(what) (\(ByteSize.text(UInt64(size)))) is in the registry already")
      pushed.present.append(what)
      return
    }
    step("uploading \(what) (\(ByteSize.text(UInt64(size))))")
    let start = try registry.send("POST", "\(repository)/blobs/uploads/")
    guard start.status == 202, let location = start.headers["location"] else {
      throw CaravanError(
        .io, "the registry of \(reference) did not start an upload of \(what): \(OCIRegistry.explain(start))",
        hint: "Check that the credentials may push to \(reference.repository).")
    }
    let target = location + (location.contains("?") ? "&" : "?") + "digest=" + digest
    let put = try registry.send("PUT", target, headers: ["Content-Type": "application/octet-stream"], body: body)
    guard put.status == 201 else {
      throw CaravanError(
        .io, "the registry of \(reference) refused \(what): \(OCIRegistry.explain(put))",
        hint: "Nothing partial is kept by the registry; run the push again.")
    }
    pushed.uploaded.append(what)
  }

  /// Puts the image manifest of `config` and `layers` at the reference's tag; returns its digest.
  static func putManifest(
    _ registry: OCIRegistry, config: (type: String, digest: String, size: Int), layers: [[String: Any]],
    annotations: [String: String]
  ) throws -> String {
    let reference = registry.reference
    let manifest: [String: Any] = [
      "schemaVersion": 2, "mediaType": manifestType,
      "config": ["mediaType": config.type, "digest": config.digest, "size": config.size],
      "layers": layers, "annotations": annotations,
    ]
    let body = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
    let put = try registry.send(
      "PUT", "/v2/\(reference.repository)/manifests/\(reference.reference)", headers: ["Content-Type": manifestType],
      body: .data(body))
    guard put.status == 201 else {
      throw CaravanError(
        .io, "the registry of \(reference) refused the manifest: \(OCIRegistry.explain(put))",
        hint: "Check that the credentials may push to \(reference.repository).")
    }
    return put.headers["docker-content-digest"] ?? "sha256:" + sha256(body)
  }

  /// The manifest at `reference` (checked against its digest when pinned), its digest
  /// and its parts; a manifest of anything but a Caravan box is refused by name.
  static func manifest(
    _ registry: OCIRegistry, configType wanted: String = OCIBox.configType, kind: String = "a Caravan box",
    hint: String? = nil
  ) throws -> (
    digest: String, config: (digest: String, size: Int), disks: [(title: String, digest: String, size: Int)],
    annotations: [String: String]
  ) {
    let reference = registry.reference
    let answer = try registry.send(
      "GET", "/v2/\(reference.repository)/manifests/\(reference.reference)",
      headers: ["Accept": "\(manifestType), application/vnd.docker.distribution.manifest.v2+json"])
    guard answer.status == 200 else {
      throw CaravanError(
        .notFound, "\(reference) is not in the registry: \(OCIRegistry.explain(answer))",
        hint: "Check the repository and tag (`skopeo list-tags docker://\(reference.host)/\(reference.repository)`).")
    }
    let digest = "sha256:" + sha256(answer.body)
    if let pinned = reference.digest, pinned != digest {
      throw CaravanError(
        .invalidInput, "the manifest of \(reference) has digest \(digest), not the one asked for",
        hint: "The registry served another manifest; nothing was installed.")
    }
    guard let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
      let config = json["config"] as? [String: Any], let configDigest = config["digest"] as? String
    else {
      throw CaravanError(.invalidInput, "the manifest of \(reference) is not an OCI image manifest")
    }
    let configType = config["mediaType"] as? String ?? "none"
    guard configType == wanted else {
      throw CaravanError(
        .invalidInput,
        "\(reference) is not \(kind): its config is '\(configType)' (a container image, or another artifact)",
        hint: hint
          ?? "Push boxes with `caravan box push NAME \(reference)`; container images cannot be booted as boxes.")
    }
    var disks: [(String, String, Int)] = []
    for layer in json["layers"] as? [[String: Any]] ?? [] {
      guard let layerDigest = layer["digest"] as? String,
        let title = (layer["annotations"] as? [String: String])?[titleKey],
        (try? ArchiveExtractor.safePath(title, archive: reference.description)) == title, !title.contains("/")
      else {
        throw CaravanError(.invalidInput, "a layer of \(reference) has no safe file name (\(titleKey))")
      }
      disks.append((title, layerDigest, layer["size"] as? Int ?? 0))
    }
    return (
      digest, (configDigest, config["size"] as? Int ?? 0), disks,
      json["annotations"] as? [String: String] ?? [:]
    )
  }

  /// Installs the box at `reference` as `name` (the manifest's name when nil) and
  /// `version` (the manifest's, else 0). Each blob is fetched into a partial file in
  /// the store that a later pull resumes, checked against its digest, then moved in.
  public static func pull(
    _ reference: OCIReference, name: String?, version: String?, force: Bool, expectedDigest: String?,
    store: BoxStore, environment: [String: String], step: (String) -> Void
  ) throws -> InstalledBox {
    let registry = OCIRegistry(reference, environment: environment)
    let manifest = try manifest(registry)
    if let expectedDigest, "sha256:" + expectedDigest != manifest.digest && expectedDigest != manifest.digest {
      throw CaravanError(
        .invalidInput,
        "\(reference) now has manifest \(manifest.digest), not the locked sha256:\(expectedDigest)",
        hint: "The tag moved; pin it with @sha256:…, or accept it with `caravan lock --update`.")
    }
    guard let boxName = name ?? manifest.annotations[nameKey] else {
      throw CaravanError(
        .invalidInput, "\(reference) does not say its box name",
        hint: "Give one: `caravan box add NAME \(reference)`.")
    }
    let boxVersion = version ?? manifest.annotations[versionKey] ?? "0"
    let pinned = reference.pinned(manifest.digest)
    let partial = store.partialBlobs
    try FileSystem.makeDirectory(partial)
    var known: [String: String] = [:]
    for disk in manifest.disks { known[disk.title] = String(disk.digest.dropFirst("sha256:".count)) }
    return try store.install(
      name: boxName, version: boxVersion, force: force, source: pinned.description, imageDigests: known
    ) { staging in
      step("pulling box '\(boxName)' (\(boxVersion)) from \(pinned)")
      let config = try fetch(
        registry, digest: manifest.config.digest, size: manifest.config.size, into: partial, what: "metadata.json",
        step: step)
      try FileManager.default.moveItem(atPath: config, toPath: staging + "/metadata.json")
      for disk in manifest.disks {
        let file = try fetch(
          registry, digest: disk.digest, size: disk.size, into: partial, what: "disk image '\(disk.title)'",
          step: step)
        try FileManager.default.moveItem(atPath: file, toPath: staging + "/" + disk.title)
      }
      try BoxSourceRecord(source: pinned.description, sha256: String(manifest.digest.dropFirst("sha256:".count)))
        .write(in: staging)
    }
  }

  /// One blob into `folder/sha256-HEX`, resumed from what an earlier pull left there,
  /// checked against its digest (a wrong one is removed). Returns its path.
  static func fetch(
    _ registry: OCIRegistry, digest: String, size: Int, into folder: String, what: String, step: (String) -> Void
  ) throws -> String {
    let reference = registry.reference
    guard digest.hasPrefix("sha256:"), digest.count == 71 else {
      throw CaravanError(.invalidInput, "\(what) of \(reference) has the digest '\(digest)', which is not a sha256")
    }
    let path = folder + "/" + digest.replacingOccurrences(of: ":", with: "-")
    if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
    guard let handle = FileHandle(forUpdatingAtPath: path) else {
      throw CaravanError(.io, "cannot write '\(path)'", hint: "Check the permissions of the box store.")
    }
    defer { try? handle.close() }
    var have = Int(try handle.seekToEnd())
    if have > size {
      try handle.truncate(atOffset: 0)
      have = 0
    }
    // Hashed as it is written: what an earlier pull left first, then each new byte.
    var hasher = StreamingDigest(.sha256)
    if have > 0 {
      try handle.seek(toOffset: 0)
      var left = have
      while left > 0, let chunk = try handle.read(upToCount: min(left, 4 << 20)), !chunk.isEmpty {
        hasher.update(chunk)
        left -= chunk.count
      }
      try handle.seek(toOffset: UInt64(have))
    }
    var rehash = false
    if have < size {
      step(
        have > 0
          ? "resuming \(what) at \(ByteSize.text(UInt64(have))) of \(ByteSize.text(UInt64(size)))"
          : "downloading \(what) (\(ByteSize.text(UInt64(size))))")
      var headers: [String: String] = [:]
      if have > 0 { headers["Range"] = "bytes=\(have)-" }
      var restart = false
      let answer: HTTPRequest.Response
      do {
        answer = try registry.send("GET", "/v2/\(reference.repository)/blobs/\(digest)", headers: headers) { bytes in
          hasher.update(bytes)
          try handle.write(contentsOf: Data(bytes))
        }
      } catch let error as CaravanError where error.kind == .io {
        let kept = (try? handle.offset()) ?? 0
        throw CaravanError(
          .io, "fetching \(what) of \(reference) stopped after \(ByteSize.text(kept)): \(error.message)",
          hint: "Run the same command again: the \(ByteSize.text(kept)) fetched are kept and it resumes from there.")
      }
      if answer.status == 200 && have > 0 { restart = true }
      guard answer.status == 200 || answer.status == 206 else {
        throw CaravanError(
          .io, "cannot fetch \(what) of \(reference): \(OCIRegistry.explain(answer))",
          hint: "Run the same command again: what was fetched is kept and resumed.")
      }
      if restart {
        // The registry sent it all again from the start: what came first was appended after the old part.
        try handle.close()
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.suffix(from: have).write(to: URL(fileURLWithPath: path))
        rehash = true
      }
    }
    let got = rehash ? try StreamingDigest.hex(ofFile: path, .sha256) : hasher.finalizeHex()
    guard "sha256:" + got == digest else {
      try? FileManager.default.removeItem(atPath: path)
      throw CaravanError(
        .invalidInput, "\(what) of \(reference) has sha256:\(got), its manifest says \(digest); it was removed",
        hint: "The registry served other bytes than it names; nothing was installed.")
    }
    return path
  }

  static func sha256(_ data: Data) -> String {
    var digest = StreamingDigest(.sha256)
    digest.update(data)
    return digest.finalizeHex()
  }
}
