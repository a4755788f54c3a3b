import Foundation

/// Reads Caravan's `<metadata>` element back (libvirt returns it as text).
enum MetadataReader {
  static func parse(_ xml: String) -> DomainDefinition.Metadata? {
    guard let project = text(xml, "project"), let machine = text(xml, "name") else { return nil }
    return DomainDefinition.Metadata(
      project: project, machine: machine, pool: text(xml, "pool") ?? BoxPool.defaultName,
      box: text(xml, "box") ?? "", boxVersion: attribute(xml, "box", "version") ?? "",
      boxVolume: attribute(xml, "box", "volume") ?? "")
  }

  /// The opening tag `<prefix:local …>` (any prefix) and its range.
  static func openTag(_ xml: String, _ local: String) -> Range<String.Index>? {
    openTagRanges(xml, local, first: true).first
  }

  /// Every opening (or empty) tag `<prefix:local …>`, in order, as text.
  static func openTags(_ xml: String, _ local: String) -> [Substring] {
    openTagRanges(xml, local, first: false).map { xml[$0] }
  }

  private static func openTagRanges(_ xml: String, _ local: String, first: Bool) -> [Range<String.Index>] {
    var found: [Range<String.Index>] = []
    var search = xml.startIndex..<xml.endIndex
    while let start = xml.range(of: "<", range: search) {
      guard let end = xml.range(of: ">", range: start.upperBound..<xml.endIndex) else { break }
      let tag = xml[start.upperBound..<end.lowerBound]
      let tagName = tag.split(whereSeparator: { $0 == " " || $0 == "/" || $0 == "\n" }).first.map(String.init) ?? ""
      if tagName == local || tagName.hasSuffix(":" + local) {
        found.append(start.lowerBound..<end.upperBound)
        if first { break }
      }
      search = end.upperBound..<xml.endIndex
    }
    return found
  }

  static func text(_ xml: String, _ local: String) -> String? {
    guard let open = openTag(xml, local), let close = xml.range(of: "</", range: open.upperBound..<xml.endIndex) else {
      return nil
    }
    return unescape(String(xml[open.upperBound..<close.lowerBound]))
  }

  static func attribute(_ xml: String, _ local: String, _ name: String) -> String? {
    guard let open = openTag(xml, local) else { return nil }
    return attribute(in: xml[open], name)
  }

  /// The value of attribute `name` in one tag's text (`<ip address='…' …>`).
  static func attribute(in tag: Substring, _ name: String) -> String? {
    for quote in ["'", "\""] {
      if let start = tag.range(of: " \(name)=\(quote)"),
        let end = tag.range(of: quote, range: start.upperBound..<tag.endIndex)
      {
        return unescape(String(tag[start.upperBound..<end.lowerBound]))
      }
    }
    return nil
  }

  static func unescape(_ text: String) -> String {
    text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&quot;", with: "\"")
      .replacingOccurrences(of: "&amp;", with: "&")
  }
}
