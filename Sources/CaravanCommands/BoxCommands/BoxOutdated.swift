import ArgumentParser
import Boxes
import Foundation
import Host

struct BoxOutdated: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outdated",
    abstract: "Say whether this project's boxes (or, with --global, all boxes) have newer versions.")

  @Flag(help: "Check every installed box.") var global = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let installer = BoxInstaller(store: store)
    for target in try BoxTarget.resolve(store: store, global: global, machines: projectMachines(variables)) {
      guard let check = try installer.newestVersion(of: target) else {
        print("box '\(target.name)': no catalog known (added from a file or URL), cannot check")
        continue
      }
      if let newest = check.newer {
        print(
          "box '\(target.name)' is outdated: \(check.installed) installed, \(newest) available. `caravan box update\(global ? " --box \(target.name)" : "")` adds it."
        )
      } else {
        print("box '\(target.name)' (\(check.installed)) is up to date")
      }
    }
  }
}
