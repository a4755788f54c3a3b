import ArgumentParser
import Core
import Foundation
import Provisioning
import Spec
import Support

struct RsyncAutoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rsync-auto",
    abstract: "Copy the rsync folders, then watch them on the host and copy again on each change, until Ctrl-C.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  /// How long the folders must stay quiet after a change before the copy starts.
  static let quiet = 0.2
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let selected = try context.machines(machines)
    // One engine per libvirt host (a machine's own `libvirt { uri }`).
    let engine = context.engines(events: lockOptions)
    let sources = try selected.flatMap { try engine($0).rsyncSources([$0]) }
    guard !sources.isEmpty else {
      throw CaravanError(
        .invalidInput,
        "no `sync …, type: rsync` folders in \(selected.map { "'\($0.name)'" }.joined(separator: ", ")) to watch",
        hint: "Add one to the Machinefile, e.g. `sync \"./src\" -> \"/srv/src\"`.")
    }
    // Ctrl-C (or SIGTERM) is how watching ends: `Interrupt` stops a copy under way
    // (its rsync too), and this ends with 0, as a copy already said its own errors.
    let interrupt = Interrupt.process
    // The project lock only while copying: other commands may run between changes.
    func copy(_ machines: [MachineSpec]) throws {
      let held = try context.lock(lockOptions)
      defer { withExtendedLifetime(held) {} }
      for group in context.byHost(machines) {
        let host = try engine(group.machines[0])
        try host.stoppable("rsync", group.machines) { try host.rsync(group.machines) }
      }
    }
    try copy(selected)
    let roots = Array(Set(sources.map { $0.path })).sorted()
    let watcher = try FolderWatcher(roots: roots)
    print("watching \(roots.joined(separator: ", ")) (\(watcher.count) folders); Ctrl-C stops")
    fflush(nil)
    while !interrupt.requested {
      let changed = try watcher.next(quiet: RsyncAutoCommand.quiet) { interrupt.requested }
      guard !interrupt.requested else { break }
      let due = selected.filter { machine in
        sources.contains { $0.machine.name == machine.name && changed.contains($0.path) }
      }
      do {
        try copy(due)
      } catch {
        // A failed copy (the machine halted, a network blip) is said, and watching goes on;
        // one stopped by Ctrl-C says what it left.
        printError(interrupt.requested ? "\(error)" : "error: \(error)")
      }
      fflush(nil)
    }
    interrupt.clear()
    print("stopped watching")
  }
}
