import ArgumentParser

struct RsyncCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rsync",
    abstract: "Copy the `sync …, type: rsync` folders into running machines again (deleting what the host deleted).")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "rsync") { try $0.rsync($1) }
  }
}
