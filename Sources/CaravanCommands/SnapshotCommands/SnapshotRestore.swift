import ArgumentParser

struct SnapshotRestore: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restore", abstract: "Put machines back as a snapshot has them; their key and ports stay.",
    usage: "caravan snapshot restore [MACHINE] NAME")

  @OptionGroup var target: MachineAndSnapshot
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.restoreSnapshot($1, name: target.name)
    }
  }
}
