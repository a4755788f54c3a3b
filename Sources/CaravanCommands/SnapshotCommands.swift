import ArgumentParser
import Core
import Foundation
import Support

struct SnapshotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot",
    abstract: "Save, restore, list and delete machine snapshots (internal qcow2 snapshots, with memory when running).",
    subcommands: [
      SnapshotSave.self, SnapshotRestore.self, SnapshotList.self, SnapshotDelete.self, SnapshotPush.self,
      SnapshotPop.self,
    ])
}

/// `[MACHINE] NAME`: the arguments of `snapshot save|restore|delete`.
struct MachineAndSnapshot: ParsableArguments {
  @Argument(
    help: ArgumentHelp("[MACHINE] NAME: the machine (default: all) and the snapshot's name.", valueName: "words"))
  var words: [String] = []

  func validate() throws {
    guard words.count == 1 || words.count == 2 else {
      throw ValidationError("give the snapshot's name, optionally after the machine's: [MACHINE] NAME")
    }
  }

  var machines: [String] { words.count == 2 ? [words[0]] : [] }
  var name: String { words[words.count - 1] }
}

struct SnapshotSave: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "save", abstract: "Take a snapshot: the disk, and the memory of a running machine.",
    usage: "caravan snapshot save [MACHINE] NAME [--force]")

  @OptionGroup var target: MachineAndSnapshot
  @Flag(name: .shortAndLong, help: "Replace a snapshot of the same name.") var force = false
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.saveSnapshot($1, name: target.name, force: force)
    }
  }
}

struct SnapshotRestore: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restore", abstract: "Put machines back as a snapshot has them; their key and ports stay.",
    usage: "caravan snapshot restore [MACHINE] NAME")

  @OptionGroup var target: MachineAndSnapshot
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.restoreSnapshot($1, name: target.name)
    }
  }
}

struct SnapshotDelete: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a snapshot.", usage: "caravan snapshot delete [MACHINE] NAME")

  @OptionGroup var target: MachineAndSnapshot
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(target.machines, lock: lockOptions, command: "snapshot") {
      try $0.deleteSnapshot($1, name: target.name)
    }
  }
}

struct SnapshotList: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List each machine's snapshots.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let context = try Context()
    let lists = try context.lifecycle(try context.hypervisor()).listSnapshots(try context.machines(machines))
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

struct SnapshotPush: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push", abstract: "Take a snapshot named push-N, for `snapshot pop` to go back to.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "snapshot") { try $0.pushSnapshot($1) }
  }
}

struct SnapshotPop: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pop", abstract: "Restore the newest pushed snapshot and delete it.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "snapshot") { try $0.popSnapshot($1) }
  }
}
