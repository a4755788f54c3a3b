import ArgumentParser
import Core
import Foundation
import SSH
import Support

struct SSHCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ssh", abstract: "Log in to a machine with OpenSSH, or run one command there.")

  @Argument(help: "Machine (default: the primary or only one).") var machine: String?
  @Option(name: .shortAndLong, help: "Run this command and exit with its status.") var command: String?
  @Argument(parsing: .postTerminator, help: "Extra arguments for ssh, after --.") var sshArguments: [String] = []
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let spec = try context.singleMachine(machine)
    // Standard output is the guest command's: triggers report on standard error.
    let lifecycle = context.lifecycle(
      try context.hypervisor(for: spec), reporter: ConsoleReporter(toStandardError: true))
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
