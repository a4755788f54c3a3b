// Problems found in a Machinefile, reported the way compilers do:
//
//   Machinefile:12:3: error: unknown setting 'memroy' in machine "web"; did you mean 'memory'?
//     memroy 2GiB
//     ^~~~~~

import Foundation
import Spec
import Support

public struct Diagnostic: Sendable, Equatable, Encodable {
  public enum Severity: String, Sendable, Equatable, Encodable {
    case error, warning
    /// Not a problem: something `caravan validate` points out (a `count: 0` machine).
    case note
  }

  public var severity: Severity
  public var message: String
  /// Where the problem starts (line 0 when the problem has no place, e.g. an unreadable file).
  public var location: SourceLocation
  /// How many characters of the source line the problem covers (at least 1 for the caret).
  public var length: Int
  /// The file's display name, as the caller gave it.
  public var file: String
  /// The source line the problem is on, without its line ending.
  public var sourceLine: String?

  public init(
    severity: Severity = .error, message: String, location: SourceLocation, length: Int = 1,
    file: String, sourceLine: String? = nil
  ) {
    self.severity = severity
    self.message = message
    self.location = location
    self.length = length
    self.file = file
    self.sourceLine = sourceLine
  }

  private enum CodingKeys: String, CodingKey {
    case severity, message, file, line, column, length, sourceLine
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(severity, forKey: .severity)
    try container.encode(message, forKey: .message)
    try container.encode(file, forKey: .file)
    try container.encode(location.line, forKey: .line)
    try container.encode(location.column, forKey: .column)
    try container.encode(length, forKey: .length)
    try container.encodeIfPresent(sourceLine, forKey: .sourceLine)
  }
}

extension Diagnostic {
  /// `FILE:LINE:COLUMN: error: MESSAGE`, then the source line indented by two spaces and a
  /// caret line (`^` under the start, `~` under the rest) when the source line is known.
  public var rendered: String {
    let place = location.line > 0 ? "\(file):\(location.line):\(location.column)" : file
    let header = "\(place): \(severity.rawValue): \(message)"
    guard let sourceLine, location.line > 0 else { return header }
    let scalars = Array(sourceLine.unicodeScalars)
    let start = min(max(location.column - 1, 0), scalars.count)
    // Keep tabs in the padding so the caret lines up under tab-indented source.
    var caret = ""
    for scalar in scalars[0..<start] { caret.append(scalar == "\t" ? "\t" : " ") }
    caret.append("^")
    let available = max(scalars.count - start, 1)
    let marked = min(max(length, 1), available)
    if marked > 1 { caret.append(String(repeating: "~", count: marked - 1)) }
    return "\(header)\n\(sourceLine)\n\(caret)"
  }
}

extension Diagnostic {
  /// The first byte of a file that is not UTF-8 (`offset` into `bytes`), at its line and column.
  public static func invalidUTF8(at offset: Int, in bytes: [UInt8], file: String) -> Diagnostic {
    let (line, column) = UTF8Text.position(of: offset, in: bytes)
    let byte = "0x" + String(bytes[offset], radix: 16, uppercase: true)
    return Diagnostic(
      message: "byte \(byte) is not valid UTF-8; save the file as UTF-8 text",
      location: SourceLocation(line: line, column: column), file: file,
      sourceLine: UTF8Text.line(containing: offset, in: bytes))
  }
}

/// The error `Machinefile.load` throws: every diagnostic of the file (or its one syntax error).
public struct MachinefileError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
  public var diagnostics: [Diagnostic]

  public init(diagnostics: [Diagnostic]) {
    self.diagnostics = diagnostics
  }

  public var description: String {
    diagnostics.map(\.rendered).joined(separator: "\n")
  }

  public var errorDescription: String? { description }
}

/// The lines of a source, for quoting them in diagnostics.
struct SourceLines {
  private let bytes: [UInt8]
  private var lineStarts: [Int] = [0]

  init(bytes: [UInt8]) {
    self.bytes = bytes
    for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
      lineStarts.append(offset + 1)
    }
  }

  func line(_ number: Int) -> String? {
    guard number >= 1, number <= lineStarts.count else { return nil }
    let start = lineStarts[number - 1]
    var end = number < lineStarts.count ? lineStarts[number] - 1 : bytes.count
    if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }
}
