import ArgumentParser
import Foundation

struct SnapshotList: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List each machine's snapshots.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(help: "Print JSON.") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let engine = context.engines()
    let lists = try context.machines(machines).flatMap { try engine($0).listSnapshots([$0]) }
    let time = ISO8601DateFormatter()
    if json {
      let rows = lists.map { list -> [String: Any] in
        [
          "machine": list.machine,
          "snapshots": list.snapshots.map {
            ["name": $0.name, "created": time.string(from: $0.createdAt), "state": $0.state.description]
          },
        ]
      }
      let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    let local = DateFormatter()
    local.dateFormat = "yyyy-MM-dd HH:mm:ss"
    for list in lists {
      guard !list.snapshots.isEmpty else {
        print("\(list.machine): no snapshots")
        continue
      }
      print("\(list.machine):")
      let width = (list.snapshots.map(\.name.count).max() ?? 0) + 2
      for snapshot in list.snapshots {
        let what = snapshot.state == .running ? "running (with memory)" : snapshot.state.description
        print(
          "  \(snapshot.name.padding(toLength: width, withPad: " ", startingAt: 0))\(local.string(from: snapshot.createdAt))  \(what)"
        )
      }
    }
  }
}
