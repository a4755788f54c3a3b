import ArgumentParser
import Boxes
import Host

struct BoxUpdate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update",
    abstract: "Add the newest version of this project's boxes (or of --box NAME) from their catalog.")

  @Option(help: "Update this box instead of the project's.") var box: String?
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let installer = makeInstaller(BoxStore(root: CaravanPaths.boxes()))
    for target in try BoxTarget.resolve(store: installer.store, only: box, machines: projectMachines(variables)) {
      let added = try installer.update(target)
      print(
        "box '\(added.name)' is at version \(added.version); machines made from older versions keep theirs until destroyed"
      )
    }
  }
}
