import ArgumentParser

struct ResumeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume",
    abstract: "Continue suspended or paused machines where they were, and wait for SSH.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "resume") { try $0.resume($1) }
  }
}
