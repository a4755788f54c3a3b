import ArgumentParser

struct ReloadCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reload",
    abstract: "Halt machines and bring them up again on the same ports (provisioners only with --provision).")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(help: "Run every provisioner after the boot.") var provision = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "reload") {
      try $0.reload($1, provision: provision)
    }
  }
}
