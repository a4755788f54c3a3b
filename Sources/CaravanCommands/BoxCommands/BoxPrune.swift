import ArgumentParser
import Boxes
import Host

struct BoxPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove every version of each box but the newest.")

  @Flag(name: .customLong("dry-run"), help: "Only say what would be removed.") var dryRun = false
  @Flag(name: .customLong("keep-active-boxes"), help: "Keep old versions that machines use.") var keepActive = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let hypervisor = try boxHypervisor()
    let candidates = try store.pruneCandidates(volumes: hypervisor, keepActive: keepActive)
    for candidate in candidates {
      let box = candidate.box
      let users = candidate.users.joined(separator: ", ")
      if candidate.keep {
        print("keeping box '\(box.name)' (\(box.version)): used by \(users)")
      } else if dryRun {
        print("would remove box '\(box.name)' (\(box.version))\(users.isEmpty ? "" : ", used by \(users)")")
      } else {
        report(box, try store.remove(box, volumes: hypervisor, force: true, waitNotice: { print($0) }))
      }
    }
    if !candidates.contains(where: { !$0.keep }) {
      print("Nothing to prune: each box has one version\(keepActive ? " (or its old ones are in use)" : "").")
    }
  }
}
