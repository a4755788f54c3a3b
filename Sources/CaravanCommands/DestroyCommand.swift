import ArgumentParser
import Foundation
import Support

struct DestroyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "destroy",
    abstract: "Remove machines: their domains, disks and state. Boxes stay.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let selected = try context.machines(machines)
    if !force {
      let names = selected.map(\.name).joined(separator: ", ")
      guard isatty(STDIN_FILENO) == 1 else {
        throw CaravanError(
          .invalidInput, "`caravan destroy` needs confirmation to remove \(names), and there is no terminal to ask",
          hint: "Run `caravan destroy -f` to remove without asking.")
      }
      print("Destroy \(names)? Their disks are deleted. [y/N] ", terminator: "")
      fflush(nil)
      guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
        print("Nothing destroyed.")
        return
      }
    }
    try context.changing(machines, lock: lockOptions, command: "destroy") { try $0.destroy($1) }
  }
}
