import ArgumentParser

struct ProvisionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "provision", abstract: "Run a running machine's provisioners again.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Option(
    name: .customLong("provision-with"),
    help: "Only these provisioners (names or types, comma-separated).")
  var only: [String] = []
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let names = only.flatMap { $0.split(separator: ",").map(String.init) }
    try Context(variables).changing(machines, lock: lockOptions, command: "provision") {
      try $0.provision($1, only: names)
    }
  }
}
