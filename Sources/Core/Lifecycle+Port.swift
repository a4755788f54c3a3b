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

extension Lifecycle {
  /// How `up` chooses host ports for `domain`'s forwards, never one in `avoided`.
  ///
  /// On this machine, a port is free when a probe socket can bind it now. A remote
  /// libvirt's host cannot be probed from here: there a port is free unless another
  /// Caravan domain of that libvirt that is running (or paused) forwards it, as its
  /// own definition says. A port some other program holds on that host shows as
  /// QEMU's failure to bind it at start; `createOrBoot` then avoids it and tries again.
  func portAllocator(for domain: String, avoiding avoided: Set<Int> = []) throws -> PortAllocator {
    guard try LibvirtURI.jump(for: hypervisor.uri) != nil else {
      return PortAllocator { transport, ip, port in
        !avoided.contains(port) && PortAllocator.canBind(transport, ip, port)
      }
    }
    let holding: [MachineStatus] = [.running, .paused, .shuttingDown, .suspended]
    var used: Set<String> = []
    for other in try hypervisor.caravanDomains() where other.domain != domain && holding.contains(other.status) {
      for forward in try hypervisor.facts(domain: other.domain)?.forwards ?? [] {
        used.insert("\(forward.transport) \(forward.host)")
      }
    }
    return PortAllocator { transport, _, port in !avoided.contains(port) && !used.contains("\(transport) \(port)") }
  }

  /// The host port of the forward QEMU could not bind, from libvirt's start error
  /// ("Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'"); nil for any other error.
  static func unboundPort(in message: String) -> Int? {
    guard let rule = message.range(of: "host forwarding rule '") else { return nil }
    let text = message[rule.upperBound...].prefix { $0 != "'" }
    guard let dash = text.firstIndex(of: "-") else { return nil }
    return Int(text[..<dash].split(separator: ":").last ?? "")
  }
}
