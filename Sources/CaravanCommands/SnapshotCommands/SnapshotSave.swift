import ArgumentParser

struct SnapshotSave: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "save", abstract: "Take a snapshot: the disk, and the memory of a running machine.",
    usage: "caravan snapshot save [MACHINE] NAME [--force]")

  @OptionGroup var target: MachineAndSnapshot
  @Flag(name: .shortAndLong, help: "Replace a snapshot of the same name.") var force = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.saveSnapshot($1, name: target.name, force: force)
    }
  }
}
