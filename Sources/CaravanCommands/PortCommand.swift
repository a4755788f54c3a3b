import ArgumentParser
import Core
import Foundation
import Host
import Support

struct PortCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "port",
    abstract: "List a running machine's forwarded ports (SSH included) and its vnc/spice display, as bound on the host."
  )

  @Argument(help: "Machine (default: the primary or only one).") var machine: String?
  @Option(help: "Print only the host port that forwards to this guest port.") var guest: Int?
  @Flag(help: "Print JSON.") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let spec = try context.singleMachine(machine)
    let lifecycle = context.lifecycle(try context.hypervisor(for: spec))
    let forwards = try lifecycle.forwards(of: spec)
    let displays = guest == nil ? try lifecycle.displays(of: spec) : []
    // On a remote libvirt, the ports are bound on its host's loopback.
    let jump = try LibvirtURI.jump(for: context.uri(of: spec))
    if let guest {
      guard let forward = forwards.first(where: { $0.guest == guest }) else {
        let known = forwards.map { String($0.guest) }.joined(separator: ", ")
        throw CaravanError(
          .notFound, "machine '\(spec.name)' forwards no host port to guest port \(guest)",
          hint:
            "Its guest ports with a forward: \(known). Add `forward HOST -> \(guest)` to the Machinefile and run `caravan reload`."
        )
      }
      print(forward.host)
      return
    }
    if json {
      let rows = forwards.enumerated().map { index, forward -> [String: Any] in
        var row: [String: Any] = [
          "guest": forward.guest, "host": forward.host, "host_ip": forward.hostIP,
          "protocol": forward.transport.rawValue, "ssh": index == 0,
        ]
        if let jump {
          row["remote_host"] = jump.destination
          if let command = PortCommand.localForward(forward, through: jump, ssh: index == 0) {
            row["local_forward"] = command
          }
        }
        return row
      }
      let displayRows = displays.map { display -> [String: Any] in
        ["display": display.type, "host": display.port, "host_ip": display.hostIP, "protocol": "tcp", "ssh": false]
      }
      let data = try JSONSerialization.data(withJSONObject: rows + displayRows, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    for (index, forward) in forwards.enumerated() {
      print("    \(PortCommand.line(forward, remote: jump, ssh: index == 0))")
    }
    for display in displays {
      print(
        "    \(display.type) display => \(display.port) (host) [\(display.url)\(jump.map { " on \($0.destination)" } ?? "")]"
      )
    }
  }

  /// The `ssh -L` command that brings a forward bound on a remote libvirt's host to
  /// the same port on this machine's loopback; nil for the SSH forward (`caravan ssh`
  /// goes through the host itself) and for UDP, which `ssh -L` cannot carry.
  static func localForward(_ forward: ResolvedForward, through jump: SSHJump, ssh: Bool) -> String? {
    guard !ssh, forward.transport == .tcp else { return nil }
    return jump.localForwardCommand(remoteIP: forward.hostIP, remotePort: forward.host, localPort: forward.host)
      .map(shellWord).joined(separator: " ")
  }

  /// "22 (guest) => 2222 (host)" as Vagrant prints it; a UDP forward or one
  /// bound elsewhere than 127.0.0.1 says so.
  /// On a remote libvirt, the host is named, and a TCP forward other than SSH is
  /// followed by the `ssh -L` command that brings it here.
  static func line(_ forward: ResolvedForward, remote jump: SSHJump? = nil, ssh: Bool = false) -> String {
    var notes: [String] = []
    if forward.transport != .tcp { notes.append(forward.transport.rawValue) }
    if forward.hostIP != "127.0.0.1" { notes.append("on \(forward.hostIP)") }
    if let jump { notes.append("on \(jump.destination)") }
    var text =
      "\(forward.guest) (guest) => \(forward.host) (host)"
      + (notes.isEmpty ? "" : " [\(notes.joined(separator: ", "))]")
    if let jump {
      if let command = localForward(forward, through: jump, ssh: ssh) {
        text += "; here: \(command)"
      } else if forward.transport != .tcp {
        text += "; ssh -L cannot bring a UDP port here"
      }
    }
    return text
  }
}
