import Foundation
import Spec
import Support

extension ResolvedForward {
  /// Reads back what `description` wrote: "tcp 127.0.0.1:8080 -> 80" (the
  /// form `MachineRecord.forwards` keeps).
  public init?(recorded text: String) {
    let words = text.split(separator: " ")
    guard words.count == 4, words[2] == "->", let transport = TransportProtocol(rawValue: String(words[0])),
      let colon = words[1].lastIndex(of: ":"), let host = Int(words[1][words[1].index(after: colon)...]),
      let guest = Int(words[3])
    else { return nil }
    self.init(transport: transport, hostIP: String(words[1][..<colon]), host: host, guest: guest)
  }
}

extension Lifecycle {
  /// `caravan port`: the forwards of a running machine as `up` bound them, SSH
  /// first, read from its record.
  public func forwards(of machine: MachineSpec) throws -> [ResolvedForward] {
    let record = try runningRecord(machine, for: "show the ports of")
    var forwards = record.forwards.compactMap(ResolvedForward.init(recorded:))
    if !forwards.contains(where: { $0.host == record.sshPort }) {
      forwards.insert(
        ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: record.sshPort, guest: machine.ssh.port), at: 0)
    }
    return forwards
  }

  /// `caravan ssh-config`: how `caravan ssh` reaches a running machine, without
  /// a shared connection (a config file outlives this command).
  public func sshConfigEndpoint(of machine: MachineSpec) throws -> SSHEndpoint {
    let record = try runningRecord(machine, for: "write the SSH config of")
    return try endpoint(for: machine, record: record, shared: false)
  }
}
