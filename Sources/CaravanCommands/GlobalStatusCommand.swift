import ArgumentParser
import Core
import Foundation
import Host
import LibvirtDriver

struct GlobalStatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "global-status",
    abstract: "Show every project this user ran `up` in, each machine asked live from libvirt.")

  @Flag(help: "Print JSON.") var json = false
  @Flag(help: "Drop projects whose folder is gone or whose machines are all gone from libvirt.") var prune = false

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let home = CaravanPaths.home(environment: environment)
    let index = ProjectIndex(home: home)
    let defaultURI = defaultLibvirtURI(configured: nil, environment: environment)
    let status = try GlobalStatus.check(index: index, alsoScan: [defaultURI]) { uri in
      try LibvirtHypervisor(uri: uri, lockDirectory: home + "/locks")
    }
    let pruned = prune ? try status.prune(index) : []
    if json {
      printJSON(status, pruned: pruned)
    } else {
      printTable(status, pruned: pruned, defaultURI: defaultURI)
    }
  }

  func printJSON(_ status: GlobalStatus, pruned: [ProjectIndex.Entry]) {
    let projects = status.projects.map { project -> [String: Any] in
      var row: [String: Any] = [
        "root": project.entry.root, "machinefile": project.entry.machinefile, "uri": project.entry.libvirtURI,
        "folder_exists": project.folderExists, "gone": project.isGone,
        "pruned": pruned.contains { $0 == project.entry },
        "machines": project.machines.map {
          ["name": $0.name, "domain": $0.domain, "state": $0.status?.description ?? "unknown"]
        },
      ]
      if let error = project.error { row["error"] = error }
      return row
    }
    let unindexed = status.unindexed.map {
      [
        "domain": $0.domain.domain, "project": $0.domain.projectRoot, "machine": $0.domain.machine,
        "state": $0.domain.status.description, "uri": $0.uri,
      ]
    }
    let object: [String: Any] = ["projects": projects, "unindexed": unindexed, "unreachable": status.unreachable]
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
      print(String(decoding: data, as: UTF8.self))
    }
  }

  func printTable(_ status: GlobalStatus, pruned: [ProjectIndex.Entry], defaultURI: String) {
    let rows = status.projects.flatMap { project in
      project.machines.map { machine -> [String] in
        var directory = project.entry.root
        if !project.folderExists { directory += " (folder gone)" }
        if project.entry.libvirtURI != defaultURI { directory += " [\(project.entry.libvirtURI)]" }
        if pruned.contains(project.entry) { directory += " (pruned)" }
        let state = machine.status?.description ?? "unknown"
        return [machine.name, state, directory]
      }
    }
    if rows.isEmpty {
      print("No projects yet: `caravan up` in a project's folder adds it here.")
    } else {
      let nameWidth = max(4, rows.map { $0[0].count }.max() ?? 0) + 2
      let stateWidth = max(5, rows.map { $0[1].count }.max() ?? 0) + 2
      print(
        "name".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
          + "state".padding(
            toLength: stateWidth, withPad: " ", startingAt: 0) + "directory")
      print(String(repeating: "-", count: nameWidth + stateWidth + 40))
      for row in rows {
        print(
          row[0].padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            + row[1].padding(toLength: stateWidth, withPad: " ", startingAt: 0) + row[2])
      }
    }
    for (uri, error) in status.unreachable.sorted(by: { $0.key < $1.key }) {
      print("\nlibvirt at \(uri) could not be asked: \(error)")
    }
    if !status.unindexed.isEmpty {
      print("\nCaravan domains in libvirt that no project in the index names:")
      for found in status.unindexed {
        print(
          "  \(found.domain.domain)  \(found.domain.status)  machine '\(found.domain.machine)' of \(found.domain.projectRoot) (\(found.uri))"
        )
      }
    }
    print(
      "\nEvery state above was just asked from libvirt. "
        + (prune
          ? "Pruned \(pruned.count) project\(pruned.count == 1 ? "" : "s") whose folder or machines are gone."
          : "`caravan global-status --prune` drops projects whose folder or machines are gone."))
  }
}
