import Foundation
import Spec
import Support

/// Where an installed box came from and the sha256 of what was read (the `.box` file
/// or the image, as downloaded), kept in its folder as `caravan-source.json`: what a
/// project's `Machinefile.lock` records.
public struct BoxSourceRecord: Codable, Equatable, Sendable {
  public static let file = "caravan-source.json"

  /// The URL or path it was read from.
  public var source: String
  /// sha256 (hex) of its bytes.
  public var sha256: String

  public init(source: String, sha256: String) {
    self.source = source
    self.sha256 = sha256
  }

  /// The record in a box's folder; nil for a box an older Caravan added.
  public static func load(in directory: String) -> BoxSourceRecord? {
    FileManager.default.contents(atPath: directory + "/" + file).flatMap {
      try? JSONDecoder().decode(BoxSourceRecord.self, from: $0)
    }
  }

  func write(in directory: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try FileSystem.writeAtomically(try encoder.encode(self), to: directory + "/" + BoxSourceRecord.file, mode: 0o644)
  }
}
