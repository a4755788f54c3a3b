import ArgumentParser
import Boxes
import Foundation
import Host

struct BoxUpdate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update",
    abstract: "Add the newest version of this project's boxes (or of --box NAME) from their catalog.")

  @Option(help: "Update this box instead of the project's.") var box: String?
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let installer = makeInstaller(BoxStore(root: CaravanPaths.boxes()))
    var updated: Set<String> = []
    for target in try BoxTarget.resolve(store: installer.store, only: box, machines: projectMachines(variables)) {
      let added = try installer.update(target)
      updated.insert(added.name)
      print(
        "box '\(added.name)' is at version \(added.version); machines made from older versions keep theirs until destroyed"
      )
    }
    // A locked project: its lock moves forward with the boxes it names.
    guard let context = try? Context(variables) else { return }
    let engine = context.lifecycle(try context.hypervisor())
    guard FileManager.default.fileExists(atPath: engine.lockPath) else { return }
    let used = Set(context.project.spec.machines.compactMap(\.box?.name))
    let names = updated.intersection(used)
    guard !names.isEmpty else { return }
    let shown = (engine.lockPath as NSString).lastPathComponent
    let changes = try engine.lock(context.project.spec.machines, update: names)
    for change in changes { print("\(shown): \(change)") }
  }
}
