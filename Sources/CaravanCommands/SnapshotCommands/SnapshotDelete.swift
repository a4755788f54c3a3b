import ArgumentParser

struct SnapshotDelete: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a snapshot.", usage: "caravan snapshot delete [MACHINE] NAME")

  @OptionGroup var target: MachineAndSnapshot
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.deleteSnapshot($1, name: target.name)
    }
  }
}
