import Spec

extension BuildSpec {
  /// The box's host name: the `hostname` var if given, else the box name's last part.
  var hostname: String {
    if let chosen = variables["hostname"], !chosen.isEmpty { return chosen }
    let last = name.split(separator: "/").last.map(String.init) ?? name
    let cleaned = String(last.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    return cleaned.isEmpty ? "caravan" : cleaned.lowercased()
  }
}
