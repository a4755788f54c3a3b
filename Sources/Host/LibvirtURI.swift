import Foundation
import Support

/// A libvirt connection URI, read as far as Caravan needs it:
/// `driver[+transport]://[user@][host][:port]/path[?name=value&…]`.
public struct LibvirtURI: Sendable, Equatable {
  public var text: String
  public var driver: String
  /// `ssh`, `libssh`, `libssh2`, `tls`, `tcp`, `unix`, `ext`; nil when the URI names none.
  public var transport: String?
  public var user: String?
  /// Empty for a local URI (`qemu:///system`).
  public var host: String
  public var port: Int?
  public var path: String
  public var parameters: [String: String]

  /// Reads `text`; an error names the URI and the form expected.
  public init(_ text: String) throws {
    self.text = text
    let bad = { (what: String) in
      CaravanError(
        .invalidInput, "the libvirt URI '\(text)' \(what)",
        hint:
          "Write it as libvirt does: qemu:///system for this machine, qemu+ssh://user@host[:port]/system[?keyfile=PATH] for another one (`libvirt { uri }` or CARAVAN_LIBVIRT_URI)."
      )
    }
    guard let schemeEnd = text.range(of: "://") else { throw bad("has no '://'") }
    let scheme = text[..<schemeEnd.lowerBound]
    let schemeParts = scheme.split(separator: "+", maxSplits: 1).map(String.init)
    guard let first = schemeParts.first, !first.isEmpty else { throw bad("names no driver before '://'") }
    driver = first
    transport = schemeParts.count > 1 ? schemeParts[1] : nil
    var rest = text[schemeEnd.upperBound...]
    var query = ""
    if let mark = rest.firstIndex(of: "?") {
      query = String(rest[rest.index(after: mark)...])
      rest = rest[..<mark]
    }
    let slash = rest.firstIndex(of: "/") ?? rest.endIndex
    path = String(rest[slash...])
    var authority = rest[..<slash]
    user = nil
    if let at = authority.lastIndex(of: "@") {
      let name = String(authority[..<at]).removingPercentEncoding ?? String(authority[..<at])
      guard !name.isEmpty else { throw bad("has an empty user before '@'") }
      user = name
      authority = authority[authority.index(after: at)...]
    }
    var hostPart = Substring(authority)
    var portPart: Substring?
    if hostPart.hasPrefix("[") {
      guard let close = hostPart.firstIndex(of: "]") else { throw bad("has an IPv6 address without its ']'") }
      let after = hostPart[hostPart.index(after: close)...]
      if after.hasPrefix(":") {
        portPart = after.dropFirst()
      } else if !after.isEmpty {
        throw bad("has '\(after)' after its host")
      }
      hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
    } else if let colon = hostPart.lastIndex(of: ":") {
      portPart = hostPart[hostPart.index(after: colon)...]
      hostPart = hostPart[..<colon]
    }
    host = String(hostPart)
    port = nil
    if let portPart {
      guard let number = Int(portPart), (1...65535).contains(number) else {
        throw bad("has the port '\(portPart)', which is not a number from 1 to 65535")
      }
      port = number
    }
    var parameters: [String: String] = [:]
    for pair in query.split(separator: "&") where !pair.isEmpty {
      let sides = pair.split(separator: "=", maxSplits: 1).map { String($0) }
      let name = sides[0].removingPercentEncoding ?? sides[0]
      let value = sides.count > 1 ? sides[1].replacingOccurrences(of: "+", with: " ") : ""
      parameters[name] = value.removingPercentEncoding ?? value
    }
    self.parameters = parameters
  }

  /// A URI with no host, or the unix socket transport: libvirt on this machine.
  public var isLocal: Bool { host.isEmpty || transport == "unix" }

  /// The transports that reach libvirt through SSH, whose host Caravan's SSH can jump through.
  public static let sshTransports: Set<String> = ["ssh", "libssh", "libssh2"]

  /// The host to jump through to a guest of this libvirt: nil for a local URI.
  /// A remote URI that is not over SSH is refused by name: the guests' SSH is
  /// bound on that host's loopback, which only SSH to the host can reach.
  public func jump() throws -> SSHJump? {
    if isLocal { return nil }
    guard let transport, LibvirtURI.sshTransports.contains(transport) else {
      throw CaravanError(
        .invalidInput,
        "the libvirt URI '\(text)' reaches \(host) over \(transport ?? "tls"), but Caravan reaches the guests of a remote libvirt only through SSH to its host",
        hint:
          "Use \(driver)+ssh://\(user.map { $0 + "@" } ?? "")\(host)\(port.map { ":\($0)" } ?? "")\(path): the guests' ports are bound on that host's loopback, and Caravan's SSH goes through the host to them."
      )
    }
    let noVerify = ["1", "yes", "true"].contains(parameters["no_verify"]?.lowercased() ?? "")
    return SSHJump(
      user: user, host: host, port: port,
      identityFile: parameters["keyfile"].flatMap { $0.isEmpty ? nil : $0 }, verifyHostKey: !noVerify)
  }

  /// The jump host for `uri`, nil for a local one (also for a URI Caravan cannot
  /// read, which libvirt itself then refuses with its own words).
  public static func jump(for uri: String) throws -> SSHJump? {
    guard let parsed = try? LibvirtURI(uri) else { return nil }
    return try parsed.jump()
  }
}

extension LibvirtURI {
  /// A URI for libvirt on this machine (`qemu:///system`, `qemu:///session`):
  /// no host, or the unix socket transport.
  public static func isLocalURI(_ uri: String) -> Bool {
    (try? LibvirtURI(uri))?.isLocal ?? true
  }
}
