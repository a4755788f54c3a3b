import Foundation

/// Reading a box archive from a local file through the same path downloads take.
public enum BoxArchive {
  /// Extracts the `.box` file at `path` (tar or tar.gz) into `target`; with
  /// `digest`, the file's bytes are hashed on the way.
  public static func extract(file path: String, into target: String, digest: inout StreamingDigest?) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw BoxError("cannot open '\(path)'", hint: "Check the path and that you may read it.")
    }
    defer { try? handle.close() }
    var sink = BoxArchiveSink(into: target, source: path)
    do {
      while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        try chunk.withUnsafeBytes { bytes in
          digest?.update(bytes)
          try sink.feed(bytes)
        }
      }
      try sink.finish()
    } catch {
      sink.abandon()
      throw error
    }
  }
}
