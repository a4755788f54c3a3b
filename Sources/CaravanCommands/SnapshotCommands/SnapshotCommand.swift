import ArgumentParser

struct SnapshotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot",
    abstract: "Save, restore, list and delete machine snapshots (internal qcow2 snapshots, with memory when running).",
    subcommands: [
      SnapshotSave.self, SnapshotRestore.self, SnapshotList.self, SnapshotDelete.self, SnapshotPush.self,
      SnapshotPop.self,
    ])
}
