import ArgumentParser

struct HaltCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "halt",
    abstract: "Power machines off: poweroff over SSH, then ACPI, then a forced power-off.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(name: .shortAndLong, help: "Power off at once, like pulling the plug.") var force = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    try Context(variables).changing(machines, lock: lockOptions, command: "halt") { try $0.halt($1, force: force) }
  }
}
