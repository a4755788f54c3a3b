import ArgumentParser
import Boxes
import Host

struct BoxRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remove", abstract: "Remove a box and its storage pool volume.")

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "Only this version.") var version: String?
  @Flag(help: "Remove every version.") var all = false
  @Flag(
    help:
      "Remove from the store even when a machine uses it (its pool volume stays until that machine is destroyed).")
  var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let boxes = try store.versionsToRemove(name: name, version: version, all: all)
    let hypervisor = try boxHypervisor()
    for box in boxes {
      report(box, try store.remove(box, volumes: hypervisor, force: force, waitNotice: { print($0) }))
    }
  }
}
