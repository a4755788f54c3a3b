import Foundation
import Spec
import Support

/// Reading a box archive from a local file through the same path downloads take.
public enum BoxArchive {
  /// Extracts the `.box` file at `path` (tar, compressed tar or zip) into `target`, checking
  /// `checksum` (if given) over the file's bytes.
  public static func extract(file path: String, into target: String, checksum: Checksum?) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CaravanError(.notFound, "cannot open '\(path)'", hint: "Check the path and that you may read it.")
    }
    defer { try? handle.close() }
    var sink = BoxArchiveSink(into: target, source: path, checksum: checksum)
    try sink.consume { feed in
      while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        try chunk.withUnsafeBytes { try feed($0) }
      }
    }
  }
}
