import ArgumentParser

struct SnapshotPop: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pop", abstract: "Restore the newest pushed snapshot and delete it.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "snapshot") { try $0.popSnapshot($1) }
  }
}
