import ArgumentParser
import Core
import Foundation

struct LockCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lock",
    abstract: "Write Machinefile.lock: each machine's box as resolved (version, source, digests), to commit.",
    discussion: """
      Resolves each machine's box as `up` would (adding what is not installed, booting nothing) and \
      writes Machinefile.lock beside the Machinefile. `up` then uses exactly what it names; \
      `up --locked` refuses anything else. --update moves the named boxes (default: all) to the \
      newest version their box line admits and prints what changed.
      """)

  @Flag(help: "Resolve the boxes anew (a catalog is asked again) and print what changed.") var update = false
  @Argument(help: "With --update: the boxes to update (default: every box of the project).") var boxes: [String] = []
  @Flag(help: "Print the lock's path and what changed as JSON (the steps go to standard error).") var json = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func validate() throws {
    if !boxes.isEmpty && !update {
      throw ValidationError("box names are for --update (`caravan lock --update \(boxes.joined(separator: " "))`)")
    }
  }

  func run() throws {
    let context = try Context(variables)
    let held = try context.lock(lockOptions)
    defer { withExtendedLifetime(held) {} }
    let engine = try context.lifecycle(
      try context.hypervisor(), reporter: ConsoleReporter(toStandardError: json), events: lockOptions)
    let changes = try engine.lock(context.project.spec.machines, update: update ? Set(boxes) : nil)
    let shown = (engine.lockPath as NSString).lastPathComponent
    if json {
      let data = try JSONSerialization.data(
        withJSONObject: ["lock": engine.lockPath, "changes": changes.map { "\($0)" }],
        options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      return print(String(decoding: data, as: UTF8.self))
    }
    if changes.isEmpty {
      print("\(shown): up to date")
    } else {
      for change in changes { print("\(shown): \(change)") }
    }
  }
}
