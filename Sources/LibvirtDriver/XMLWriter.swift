/// A tiny XML writer: elements, attributes and escaped text, indented two spaces.
struct XMLElement {
  var name: String
  var attributes: [(String, String)] = []
  var text: String?
  var children: [XMLElement] = []

  init(_ name: String, _ attributes: [(String, String)] = [], text: String? = nil, children: [XMLElement] = []) {
    self.name = name
    self.attributes = attributes
    self.text = text
    self.children = children
  }

  func render(indent: Int = 0) -> String {
    let pad = String(repeating: "  ", count: indent)
    let attrs = attributes.map { " \($0.0)='\(XMLElement.escape($0.1))'" }.joined()
    if let text {
      return "\(pad)<\(name)\(attrs)>\(XMLElement.escape(text))</\(name)>\n"
    }
    if children.isEmpty { return "\(pad)<\(name)\(attrs)/>\n" }
    return "\(pad)<\(name)\(attrs)>\n" + children.map { $0.render(indent: indent + 1) }.joined() + "\(pad)</\(name)>\n"
  }

  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text {
      switch ch {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "'": out += "&apos;"
      case "\"": out += "&quot;"
      default: out.append(ch)
      }
    }
    return out
  }
}
