import Foundation
import Spec
import Support

/// A distribution's checksum file: `SHA256SUMS`/`SHA512SUMS` as coreutils write
/// them (`HEX  FILE`, or `HEX *FILE` for binary mode), or the BSD form Fedora,
/// AlmaLinux and Rocky publish as `CHECKSUM` (`SHA256 (FILE) = HEX`), possibly
/// inside a PGP-signed message. Only the line for the image's file name matters:
/// the others, comments, blank lines and the PGP armour are skipped.
public struct ChecksumFile: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    public var fileName: String
    /// The line it was read from (1-based), for messages.
    public var line: Int
    /// The checksum, or why this line's digest is not one.
    public var checksum: Result<Checksum, Problem>
  }

  public struct Problem: Error, Sendable, Equatable {
    public var message: String
  }

  /// Where the file came from (a URL or a path), for messages.
  public var source: String
  public var entries: [Entry]

  /// Reads every line that has the shape of an entry. Never throws: a line that
  /// is not an entry is skipped, and an entry with a bad digest is kept as a
  /// problem that only matters if it is the image's line.
  public static func parse(_ text: String, source: String) -> ChecksumFile {
    var entries: [Entry] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      if let entry = bsdEntry(line, number: index + 1) ?? gnuEntry(line, number: index + 1) {
        entries.append(entry)
      }
    }
    return ChecksumFile(source: source, entries: entries)
  }

  /// The checksum for `fileName` (a URL's last path component: `./` and a
  /// leading `*` in the file are ignored). Missing or bad lines are errors that
  /// name this file, the image and the fix.
  public func checksum(for fileName: String) throws -> Checksum {
    let matching = entries.filter { ChecksumFile.normalised($0.fileName) == ChecksumFile.normalised(fileName) }
    guard let entry = matching.first(where: { (try? $0.checksum.get()) != nil }) ?? matching.first else {
      let others = entries.prefix(5).map(\.fileName).joined(separator: ", ")
      throw CaravanError(
        .notFound, "the checksum file \(source) has no line for '\(fileName)'",
        hint: entries.isEmpty
          ? "It lists no file at all: is it a SHA256SUMS/SHA512SUMS or CHECKSUM file? Give the right one, or --checksum TYPE:HEX."
          : "It lists \(entries.count) file(s) (\(others)\(entries.count > 5 ? ", …" : "")); give the checksum file that lists this image, or --checksum TYPE:HEX."
      )
    }
    switch entry.checksum {
    case .success(let checksum): return checksum
    case .failure(let problem):
      throw CaravanError(
        .invalidInput, "line \(entry.line) of the checksum file \(source), for '\(fileName)': \(problem.message)",
        hint: "The file is damaged or not a checksum file; fetch it again, or give --checksum TYPE:HEX.")
    }
  }

  static func normalised(_ name: String) -> String {
    var name = Substring(name)
    while name.hasPrefix("./") { name = name.dropFirst(2) }
    return String(name)
  }

  /// `SHA256 (FILE) = HEX`.
  static func bsdEntry(_ line: String, number: Int) -> Entry? {
    guard let open = line.firstIndex(of: "("), let close = line.range(of: ") = ", options: .backwards),
      open < close.lowerBound
    else { return nil }
    let type = line[..<open].trimmingCharacters(in: .whitespaces)
    guard !type.isEmpty, type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
      return nil
    }
    let name = String(line[line.index(after: open)..<close.lowerBound])
    let hex = line[close.upperBound...].trimmingCharacters(in: .whitespaces)
    let kindName = type.lowercased().replacingOccurrences(of: "-", with: "")
    let checksum: Result<Checksum, Problem>
    if let kind = Checksum.Kind(rawValue: kindName) {
      checksum = digest(kind, hex)
    } else {
      checksum = .failure(
        Problem(message: "'\(type)' is not a checksum type Caravan knows (md5, sha1, sha256, sha384, sha512)"))
    }
    return Entry(fileName: name, line: number, checksum: checksum)
  }

  /// `HEX  FILE` or `HEX *FILE`; the type follows from the number of digits.
  static func gnuEntry(_ line: String, number: Int) -> Entry? {
    guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
    let hex = String(line[..<space])
    guard hex.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
    var name = line[space...].drop { $0 == " " || $0 == "\t" }
    if name.hasPrefix("*") { name = name.dropFirst() }
    guard !name.isEmpty else { return nil }
    let checksum: Result<Checksum, Problem>
    if let kind = Checksum.Kind.allCases.first(where: { $0.hexLength == hex.utf8.count }) {
      checksum = digest(kind, hex)
    } else {
      checksum = .failure(
        Problem(
          message:
            "a digest of \(hex.utf8.count) hex digits is none Caravan knows (sha256 has 64, sha512 128, sha384 96, sha1 40, md5 32)"
        ))
    }
    return Entry(fileName: String(name), line: number, checksum: checksum)
  }

  static func digest(_ kind: Checksum.Kind, _ hex: String) -> Result<Checksum, Problem> {
    do {
      return .success(try Checksum(kind: kind, hex: hex))
    } catch {
      return .failure(Problem(message: (error as? CaravanError)?.message ?? "\(error)"))
    }
  }

  /// The file name a checksum file lists for the image at `location` (a URL or
  /// a path): its last path component, without query or fragment, percent-decoded.
  public static func imageFileName(of location: String) -> String {
    if let url = URL(string: location), url.scheme != nil {
      return url.lastPathComponent
    }
    return (location as NSString).lastPathComponent
  }
}
