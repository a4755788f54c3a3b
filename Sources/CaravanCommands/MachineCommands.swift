import ArgumentParser
import Core
import Foundation
import Host
import Machinefile
import SSH
import Spec
import Support

struct UpCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Create and boot machines, wait for SSH, and provision them the first time.")

  @Argument(help: "Machines to bring up (default: all with autostart).") var machines: [String] = []
  @Flag(inversion: .prefixedNo, help: "Run provisioners again (--provision) or not at all (--no-provision).")
  var provision: Bool?
  @Option(
    name: .customLong("provision-with"),
    help: "Run only these provisioners (names or types, comma-separated), whatever their run: says.")
  var provisionWith: [String] = []
  @Flag(
    inversion: .prefixedNo,
    help: "Remove a machine whose first up fails (default), or keep it to look at (--no-destroy-on-error).")
  var destroyOnError = true
  @Option(
    help: ArgumentHelp(
      "Bring up at most N machines at once (default: from the host's CPUs and memory; 1 under TCG on fewer than 4 CPUs).",
      valueName: "N"))
  var parallel: Int?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Start new machines from their box's saved running state (made on the first warm up) instead of booting; default: the Machinefile's `libvirt { warm }`."
  )
  var warm: Bool?
  @OptionGroup var lockOptions: LockOptions

  func validate() throws {
    if let parallel, parallel < 1 {
      throw ValidationError(
        "--parallel must be 1 or more (got \(parallel)); --parallel 1 brings machines up one at a time")
    }
  }

  func run() throws {
    let options = UpOptions(
      provision: provision, provisionWith: provisionWith.flatMap { $0.split(separator: ",").map(String.init) },
      destroyOnError: destroyOnError, parallel: parallel, warm: warm)
    try Context().changing(machines, lock: lockOptions, command: "up", autostartOnly: true, runsTriggers: false) {
      try $0.up($1, options: options)
    }
  }
}

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show each machine's state, asked live from libvirt.")

  @Argument(help: "Machines to show (default: all).") var machines: [String] = []
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let context = try Context()
    let lifecycle = context.lifecycle(try context.hypervisor())
    let selected = try context.machines(machines)
    // Triggers print to standard output: not with --json, whose output is for programs.
    guard !json else { return try show(try lifecycle.status(selected), uri: context.uri) }
    try lifecycle.stoppable("status", selected) {
      try lifecycle.withTriggers("status", selected, perMachine: false) {
        try show(try lifecycle.status($0), uri: context.uri)
      }
    }
  }

  func show(_ reports: [Lifecycle.MachineReport], uri: String) throws {
    if json {
      let rows = reports.map { report -> [String: Any] in
        var row: [String: Any] = ["name": report.name, "state": report.status.description, "domain": report.domain]
        if let record = report.record {
          row["ssh_port"] = record.sshPort
          row["forwards"] = record.forwards.map(\.description)
        }
        return row
      }
      let data = try JSONSerialization.data(
        withJSONObject: ["machines": rows, "uri": uri], options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    let width = max(12, (reports.map(\.name.count).max() ?? 0) + 2)
    let jump = try LibvirtURI.jump(for: uri)
    for report in reports {
      var line =
        report.name.padding(toLength: width, withPad: " ", startingAt: 0)
        + report.status.description.padding(toLength: 14, withPad: " ", startingAt: 0)
      if report.status == .running, let record = report.record {
        line += "ssh 127.0.0.1:\(record.sshPort)" + (jump.map { " via \($0.destination)" } ?? "") + "  "
      }
      line += "(\(report.domain))"
      print(line)
    }
  }
}

struct SSHCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ssh", abstract: "Log in to a machine with OpenSSH, or run one command there.")

  @Argument(help: "Machine (default: the primary or only one).") var machine: String?
  @Option(name: .shortAndLong, help: "Run this command and exit with its status.") var command: String?
  @Argument(parsing: .postTerminator, help: "Extra arguments for ssh, after --.") var sshArguments: [String] = []

  func run() throws {
    let context = try Context()
    let spec = try context.singleMachine(machine)
    // Standard output is the guest command's: triggers report on standard error.
    let lifecycle = context.lifecycle(try context.hypervisor(), reporter: ConsoleReporter(toStandardError: true))
    // The state is read (and maybe adopted, the key restored) under the project lock, shared;
    // it is released before ssh runs, which may last the whole session.
    let held = try context.sharedLock()
    let record = try lifecycle.runningRecord(spec, for: "ssh into")
    // Through the machine's shared connection: a command right after another
    // one (or another `caravan ssh`) needs no new SSH handshake.
    let endpoint = try lifecycle.endpoint(for: spec, record: record, shared: true)
    held?.unlock()
    if let control = endpoint.controlPath {
      try FileSystem.makeDirectory((control as NSString).deletingLastPathComponent, mode: 0o700)
    }
    var args = OpenSSHCommunicator.arguments(endpoint, batch: false)
    args.insert(contentsOf: sshArguments, at: args.count - 1)
    if let command { args.append(command) }
    try lifecycle.runTriggers(.before, "ssh", spec)
    guard spec.triggers.contains(where: { $0.when == .after && $0.commands.contains("ssh") }) else {
      throw execProgram(args)
    }
    // After triggers run once ssh ends, so ssh is a child here, not exec'd.
    let status = try SSHCommand.runInForeground(args)
    try lifecycle.runTriggers(.after, "ssh", spec)
    throw ExitCode(status)
  }

  /// Runs `args` with this terminal and waits; Ctrl-C goes to the child (caravan only
  /// waits, and is not interrupted by it: the after triggers still run).
  static func runInForeground(_ args: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = args
    return try Interrupt.leavingTerminalSignalsToChild {
      do { try process.run() } catch { throw execProgram(args) }
      process.waitUntilExit()
      return process.terminationReason == .uncaughtSignal
        ? 128 + process.terminationStatus : process.terminationStatus
    }
  }
}

struct ProvisionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "provision", abstract: "Run a running machine's provisioners again.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Option(
    name: .customLong("provision-with"),
    help: "Only these provisioners (names or types, comma-separated).")
  var only: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    let names = only.flatMap { $0.split(separator: ",").map(String.init) }
    try Context().changing(machines, lock: lockOptions, command: "provision") { try $0.provision($1, only: names) }
  }
}

struct HaltCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "halt",
    abstract: "Power machines off: poweroff over SSH, then ACPI, then a forced power-off.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(name: .shortAndLong, help: "Power off at once, like pulling the plug.") var force = false
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "halt") { try $0.halt($1, force: force) }
  }
}

struct DestroyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "destroy",
    abstract: "Remove machines: their domains, disks and state. Boxes stay.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    let context = try Context()
    let selected = try context.machines(machines)
    if !force {
      let names = selected.map(\.name).joined(separator: ", ")
      guard isatty(STDIN_FILENO) == 1 else {
        throw CaravanError(
          .invalidInput, "`caravan destroy` needs confirmation to remove \(names), and there is no terminal to ask",
          hint: "Run `caravan destroy -f` to remove without asking.")
      }
      print("Destroy \(names)? Their disks are deleted. [y/N] ", terminator: "")
      fflush(nil)
      guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
        print("Nothing destroyed.")
        return
      }
    }
    try context.changing(machines, lock: lockOptions, command: "destroy") { try $0.destroy($1) }
  }
}
