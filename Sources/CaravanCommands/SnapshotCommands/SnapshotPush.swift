import ArgumentParser

struct SnapshotPush: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push", abstract: "Take a snapshot named push-N, for `snapshot pop` to go back to.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "snapshot") { try $0.pushSnapshot($1) }
  }
}
