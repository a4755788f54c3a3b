// The files a build starts from (`from kernel:/initrd:/iso:`): a host path is checked
// against its checksum; a URL is downloaded once into the cache, named by its checksum
// (or by the URL's hash when none is given), verified before it enters the cache, and
// never fetched again. The build gets its own copy in the work folder, which libvirt's
// QEMU can read.

import Boxes
import Foundation
import Spec
import Support

struct SourceCache {
  let directory: String
  let log: BuildLog

  func local(_ source: BuildSpec.Source?, what: String, into work: String) throws -> String {
    guard let source else {
      throw CaravanError(.invalidInput, "the build needs `from \(what):`; add it to the Boxfile")
    }
    let found = try source.isURL ? cached(source, what: what) : checkedLocal(source, what: what)
    let copy = work + "/" + what + "-" + (found as NSString).lastPathComponent
    try? FileManager.default.removeItem(atPath: copy)
    if link(found, copy) != 0 { try FileManager.default.copyItem(atPath: found, toPath: copy) }
    chmod(copy, 0o644)
    return copy
  }

  private func checkedLocal(_ source: BuildSpec.Source, what: String) throws -> String {
    guard FileSystem.exists(source.location) else {
      throw CaravanError(
        .notFound, "`from \(what):` names \(source.location), which does not exist",
        hint: what == "kernel" || what == "initrd"
          ? "Debian's installer kernel and initrd come with: apt-get install debian-installer-12-netboot-amd64"
          : "Check the path; it is relative to the Boxfile.")
    }
    if let checksum = source.checksum {
      try SourceCache.verify(checksum, try StreamingDigest.hex(ofFile: source.location, checksum.kind), what, source)
    }
    return source.location
  }

  private func cached(_ source: BuildSpec.Source, what: String) throws -> String {
    let key =
      source.checksum.map { "\($0.kind.rawValue)-\($0.hex)" }
      ?? "url-" + StableHash.hex(source.location, length: 16)
    let name = (URL(string: source.location)?.lastPathComponent).flatMap { $0.isEmpty ? nil : $0 } ?? what
    let folder = directory + "/" + key
    let path = folder + "/" + name
    if FileSystem.exists(path) {
      log.step("from", "\(what): \(source.location) is cached (\(path))")
      return path
    }
    try FileSystem.makeDirectory(folder)
    let partial = path + ".partial-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: partial) }
    log.step("from", "\(what): downloading \(source.location)")
    guard FileManager.default.createFile(atPath: partial, contents: nil),
      let handle = FileHandle(forWritingAtPath: partial)
    else { throw FileSystem.ioError("write", partial) }
    var digest = StreamingDigest(source.checksum?.kind ?? .sha256)
    let download = Download(url: source.location)
    download.onProgress = { progress in
      let total = progress.total.map { String(format: " of %.1f MiB", Double($0) / 1_048_576) } ?? ""
      log.status(String(format: "%@: %.1f MiB%@", what, Double(progress.received) / 1_048_576, total))
    }
    do {
      _ = try download.run { bytes in
        digest.update(bytes)
        handle.write(Data(bytes))
      }
      try handle.close()
    } catch {
      try? handle.close()
      throw error
    }
    let hex = digest.finalizeHex()
    if let checksum = source.checksum { try SourceCache.verify(checksum, hex, what, source) }
    guard rename(partial, path) == 0 else { throw FileSystem.ioError("move into the cache", path) }
    log.detail("\(what) cached as \(path) (sha256 \(source.checksum == nil ? hex : source.checksum?.hex ?? ""))")
    return path
  }

  /// The spec's checksum check, with a build's hint (its own speaks of box downloads).
  static func verify(_ checksum: Checksum, _ hex: String, _ what: String, _ source: BuildSpec.Source) throws {
    do {
      try checksum.verify(hex, what: "\(what) \(source.location)")
    } catch let error as CaravanError {
      throw CaravanError(
        .invalidInput, error.message,
        hint:
          "Nothing was built or cached. Check `checksum:` of `from` in the Boxfile against the file's published one.")
    }
  }
}
