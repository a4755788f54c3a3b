import ArgumentParser
import SSH
import Support

struct SSHConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ssh-config",
    abstract: "Print OpenSSH client configuration for running machines, for `ssh -F FILE NAME`.")

  @Argument(help: "Machines (default: every running one).") var machines: [String] = []
  @Option(help: "The Host name to use instead of the machine's name (one machine only).") var host: String?
  @OptionGroup var variables: VariableOptions

  func validate() throws {
    if let host, host.isEmpty || host.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "#" }) {
      throw ValidationError("--host '\(host)' cannot be an ssh_config Host name; use one word like 'web'")
    }
  }

  func run() throws {
    let context = try Context(variables)
    let all = try context.machines(machines)
    var selected = all
    // Each machine on its own libvirt host's connection.
    let lifecycle = context.engines()
    // The state is read (and maybe adopted, a key restored) under the project lock, shared.
    let held = try context.sharedLock()
    defer { held?.unlock() }
    if machines.isEmpty {
      // Every running machine; the others are named on stderr, so stdout stays a valid config.
      let reports = try selected.flatMap { try lifecycle($0).status([$0]) }
      for report in reports where report.status != .running {
        printError("note: machine '\(report.name)' is \(report.status); no block for it")
      }
      selected = selected.filter { spec in reports.contains { $0.name == spec.name && $0.status == .running } }
      if selected.isEmpty, let first = all.first {
        _ = try lifecycle(first).sshConfigEndpoint(of: first)  // throws: not running, with the fix
      }
    }
    if host != nil && selected.count > 1 {
      throw CaravanError(
        .invalidInput, "--host names one machine, but this would print \(selected.count)",
        hint: "Name the machine too: `caravan ssh-config \(selected[0].name) --host \(host ?? "")`.")
    }
    let blocks = try selected.map { spec in
      SSHConfig.block(host: host ?? spec.name, endpoint: try lifecycle(spec).sshConfigEndpoint(of: spec))
    }
    print(blocks.joined(separator: "\n"), terminator: "")
  }
}
