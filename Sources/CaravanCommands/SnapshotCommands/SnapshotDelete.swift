import ArgumentParser

struct SnapshotDelete: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a snapshot.", usage: "caravan snapshot delete [MACHINE] NAME")

  @OptionGroup var target: MachineAndSnapshot
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.deleteSnapshot($1, name: target.name)
    }
  }
}
