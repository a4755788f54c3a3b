import Foundation
import Spec
import Support

/// Multi-part MIME archives of cloud-init parts (`Content-Type: multipart/mixed`), as
/// cloud-init reads them: a new one of the user's part and Caravan's, or Caravan's part
/// added to the user's own archive with every byte of theirs kept.
enum CloudInitMIME {
  /// `archive`'s boundary, made longer until no part contains it.
  static func boundary(avoiding texts: [String]) -> String {
    var boundary = "==caravan-cloud-init=="
    while texts.contains(where: { $0.contains(boundary) }) { boundary = "=" + boundary + "=" }
    return boundary
  }

  /// A part: its headers, an empty line, the body as written (the line break before the
  /// next delimiter belongs to the delimiter, so the body's own last byte is kept).
  static func part(_ body: String, type: String, fileName: String, newline: String) -> String {
    [
      "Content-Type: \(type); charset=\"utf-8\"",
      "MIME-Version: 1.0",
      "Content-Transfer-Encoding: 8bit",
      "Content-Disposition: attachment; filename=\"\(fileName)\"",
      "",
      body,
    ].joined(separator: newline)
  }

  /// A new archive: the user's part (`type` as cloud-init names its kind), then Caravan's
  /// cloud-config, which comes last so that its merge rule applies to what came before.
  static func archive(userPart: String, type: String, caravanPart: String) -> String {
    archive(wholeUserPart: part(userPart, type: type, fileName: "user-data", newline: "\n"), caravanPart: caravanPart)
  }

  /// A new archive of `wholeUserPart` (headers, empty line, body) and Caravan's part.
  static func archive(wholeUserPart: String, caravanPart: String) -> String {
    let boundary = boundary(avoiding: [wholeUserPart, caravanPart])
    return [
      "Content-Type: multipart/mixed; boundary=\"\(boundary)\"",
      "MIME-Version: 1.0",
      "",
      "--\(boundary)",
      wholeUserPart,
      "--\(boundary)",
      part(caravanPart, type: "text/cloud-config", fileName: "caravan.cfg", newline: "\n"),
      "--\(boundary)--",
      "",
    ].joined(separator: "\n")
  }

  /// The user's MIME document with Caravan's part added: before the closing delimiter of
  /// a multi-part archive (or at its end when it has none), in the archive's own line
  /// breaks; a single-part MIME document becomes the first part of a new archive.
  static func adding(_ caravanPart: String, to text: String, source: String) throws -> String {
    let (newline, contentType, boundary) = CloudInitFormat.mimeHeaders(of: text)
    if let problem = CloudInitFormat.mimeProblem(text) {
      throw CaravanError(
        .invalidInput, "the cloud-init MIME archive \(source) \(problem)",
        hint: "Write it as `cloud-init devel make-mime` does.")
    }
    guard let contentType, let boundary, contentType.lowercased().hasPrefix("multipart/") else {
      // Its headers and body, as written, are a part of the new archive.
      return archive(wholeUserPart: text, caravanPart: caravanPart)
    }
    let body = newline == "\n" ? caravanPart : caravanPart.replacingOccurrences(of: "\n", with: newline)
    let added =
      "--\(boundary)" + newline + part(body, type: "text/cloud-config", fileName: "caravan.cfg", newline: newline)
    let close = newline + "--\(boundary)--"
    if let range = text.range(of: close, options: .backwards) {
      // Insert after the close's line break: the last part's body stays as it was.
      let at = text.index(range.lowerBound, offsetBy: newline.count)
      return String(text[..<at]) + added + newline + String(text[at...])
    }
    let ending = text.hasSuffix(newline) ? "" : newline
    return text + ending + added + newline + "--\(boundary)--" + newline
  }
}
