import Boxes
import Foundation
import Spec
import Support

/// A port forward as `up` bound it: on the host's `hostIP:host`, to the guest's `guest`.
public struct ResolvedForward: Sendable, Equatable, CustomStringConvertible {
  public var transport: TransportProtocol
  public var hostIP: String
  public var host: Int
  public var guest: Int
  public init(transport: TransportProtocol, hostIP: String, host: Int, guest: Int) {
    self.transport = transport
    self.hostIP = hostIP
    self.host = host
    self.guest = guest
  }
  public var description: String { "\(transport.rawValue) \(hostIP):\(host) -> \(guest)" }

  /// Reads `description` back: `tcp 127.0.0.1:8080 -> 80` (an IPv6 address keeps its colons).
  public init?(parsing text: String) {
    let parts = text.split(separator: " ")
    guard parts.count == 4, parts[2] == "->", let transport = TransportProtocol(rawValue: String(parts[0])),
      let guest = Int(parts[3]), let colon = parts[1].lastIndex(of: ":"),
      let host = Int(parts[1][parts[1].index(after: colon)...])
    else { return nil }
    self.init(transport: transport, hostIP: String(parts[1][..<colon]), host: host, guest: guest)
  }
}
