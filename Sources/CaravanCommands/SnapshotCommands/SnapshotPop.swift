import ArgumentParser

struct SnapshotPop: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pop", abstract: "Restore the newest pushed snapshot and delete it.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "snapshot") { try $0.popSnapshot($1) }
  }
}
