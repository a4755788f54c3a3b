// `cloud_init`: the user's own cloud-init data for an image box, and what kind of
// cloud-init document a text is (read the same way by the validator and the merge).

import Foundation

/// `cloud_init user_data: "FILE"` or `cloud_init inline: """…"""`, with an optional
/// `network_config: "FILE"`. Paths are as written (interpolated), relative to the project.
public struct CloudInitSpec: Sendable, Equatable {
  public enum UserData: Sendable, Equatable {
    /// A host file, relative to the project's folder unless absolute.
    case file(String)
    /// The text of `inline:`, verbatim.
    case inline(String)
  }
  public var userData: UserData
  /// A host file holding cloud-init's network configuration (version 1 or 2).
  public var networkConfig: String?
  public init(userData: UserData, networkConfig: String? = nil) {
    self.userData = userData
    self.networkConfig = networkConfig
  }
}

/// The kinds of user data cloud-init reads, told by its first line as cloud-init
/// does (`#cloud-config`, `#!`, `#include`, …, or a MIME header).
public enum CloudInitFormat: Sendable, Equatable {
  /// `#cloud-config`: YAML.
  case cloudConfig
  /// A multi-part MIME archive (`Content-Type: multipart/mixed; boundary=…`).
  case mime
  /// Any other part cloud-init runs: a script, `#include`, `#cloud-boothook`, … with
  /// its MIME type (`text/x-shellscript`) and how it is named in messages.
  case part(mimeType: String, name: String)

  /// First-line prefixes and the MIME type cloud-init gives each (its
  /// `INCLUSION_TYPES_MAP`), longest first so `#cloud-config-archive` is not `#cloud-config`.
  public static let prefixes: [(prefix: String, mimeType: String, name: String)] = [
    ("#cloud-config-archive", "text/cloud-config-archive", "a cloud-config archive"),
    ("#cloud-config-jsonp", "text/cloud-config-jsonp", "a cloud-config JSON patch"),
    ("## template: jinja", "text/jinja2", "a Jinja template"),
    ("#cloud-boothook", "text/cloud-boothook", "a boothook"),
    ("#include-once", "text/x-include-once-url", "an include-once list"),
    ("#part-handler", "text/part-handler", "a part handler"),
    ("#upstart-job", "text/upstart-job", "an upstart job"),
    ("#include", "text/x-include-url", "an include list"),
    ("#!", "text/x-shellscript", "a script"),
  ]

  /// The format of `text`, or nil when cloud-init would not know it.
  public static func of(_ text: String) -> CloudInitFormat? {
    let first = text.prefix { $0 != "\n" && $0 != "\r\n" }.trimmingSuffixWhitespace
    if first == "#cloud-config" { return .cloudConfig }
    let lowered = first.lowercased()
    if lowered.hasPrefix("content-type:") || lowered.hasPrefix("mime-version:") { return .mime }
    for known in prefixes where first.hasPrefix(known.prefix) {
      return .part(mimeType: known.mimeType, name: known.name)
    }
    return nil
  }

  /// The line breaks of a MIME document (CRLF or LF), its header block's `Content-Type`
  /// (unfolded), and that header's `boundary` parameter.
  public static func mimeHeaders(of text: String) -> (newline: String, contentType: String?, boundary: String?) {
    let newline = text.contains("\r\n") ? "\r\n" : "\n"
    let headers = text.components(separatedBy: newline + newline).first ?? text
    let contentType = header("Content-Type", in: headers, newline: newline)
    return (newline, contentType, contentType.flatMap { parameter("boundary", of: $0) })
  }

  /// What is wrong with a MIME document for cloud-init, or nil: no `Content-Type`, or a
  /// multi-part one with no boundary.
  public static func mimeProblem(_ text: String) -> String? {
    let (_, contentType, boundary) = mimeHeaders(of: text)
    guard let contentType else {
      return "has MIME headers but no Content-Type; start it with `Content-Type: multipart/mixed; boundary=\"…\"`"
    }
    if contentType.lowercased().hasPrefix("multipart/") && boundary == nil {
      return
        "says `Content-Type: \(contentType)` with no boundary; add `; boundary=\"…\"` naming the line between its parts"
    }
    return nil
  }

  /// The value of header `name` (unfolded), from a MIME header block.
  static func header(_ name: String, in headers: String, newline: String) -> String? {
    var value: String?
    for line in headers.components(separatedBy: newline) {
      if let current = value {
        guard line.first == " " || line.first == "\t" else { break }
        value = current + " " + line.trimmingCharacters(in: .whitespaces)
      } else if line.lowercased().hasPrefix(name.lowercased() + ":") {
        value = String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
      }
    }
    return value
  }

  /// A parameter of a header value (`boundary="x"` or `boundary=x`).
  static func parameter(_ name: String, of value: String) -> String? {
    for piece in value.split(separator: ";").dropFirst() {
      let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard pair.count == 2, pair[0].lowercased() == name else { continue }
      let raw = pair[1]
      return raw.count >= 2 && raw.hasPrefix("\"") && raw.hasSuffix("\"") ? String(raw.dropFirst().dropLast()) : raw
    }
    return nil
  }

  /// What the validator's message lists as accepted.
  public static let accepted =
    "`#cloud-config` (YAML), a script (`#!`), `#include`, `#cloud-boothook`, `#part-handler`, `## template: jinja` or a MIME multi-part archive (`Content-Type: multipart/mixed`)"
}

extension Substring {
  fileprivate var trimmingSuffixWhitespace: String {
    var end = endIndex
    while end > startIndex, let last = self[..<end].last, last == " " || last == "\t" || last == "\r" {
      end = index(before: end)
    }
    return String(self[..<end])
  }
}
