import Foundation
import Spec
import Support

extension Lifecycle {
  /// The machine's folders that are synced: not `disabled`, of `kinds`.
  func syncedFolders(_ machine: MachineSpec, kinds: Set<SyncSpec.Kind>? = nil) -> [SyncSpec] {
    guard syncer != nil else { return [] }
    return machine.syncs.filter { !$0.disabled && (kinds?.contains($0.kind) ?? true) }
  }

  /// Before anything is made: the 9p folders the domain's QEMU must reach as its own user.
  func checkSharedFolders(_ machine: MachineSpec) throws {
    guard !syncedFolders(machine, kinds: [.ninep]).isEmpty, let syncer else { return }
    try hypervisor.checkSharedFolders(syncer.sharedFolders(machine, projectRoot: project.root), machine: machine.name)
  }

  /// Copies or mounts each synced folder of a running machine, each one an event
  /// (`sync`, detail `SRC -> DST (KIND)`) with its duration and outcome.
  func syncFolders(_ machine: MachineSpec, communicator: Communicator, kinds: Set<SyncSpec.Kind>? = nil) throws {
    guard let syncer else { return }
    for folder in syncedFolders(machine, kinds: kinds) {
      try track(machine.name, .sync, detail: folder.summary) {
        try syncer.sync(folder, machine: machine, projectRoot: project.root, on: communicator, reporter: reporter)
      }
    }
  }

  /// `caravan rsync`: copies the `type: rsync` folders into each running machine again.
  /// A machine with none says so.
  public func rsync(_ machines: [MachineSpec]) throws {
    for machine in machines {
      let folders = syncedFolders(machine, kinds: [.rsync])
      guard !folders.isEmpty else {
        reporter.step(machine.name, "no `sync …, type: rsync` folders to copy")
        continue
      }
      let record = try runningRecord(machine, for: "rsync to")
      let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
      try syncFolders(machine, communicator: communicator, kinds: [.rsync])
    }
  }

  /// The host folders of the machines' `type: rsync` folders, for `rsync-auto`.
  public func rsyncSources(_ machines: [MachineSpec]) -> [(machine: MachineSpec, path: String)] {
    machines.flatMap { machine in
      syncedFolders(machine, kinds: [.rsync]).map {
        (machine, FileSystem.resolve($0.source, relativeTo: project.root))
      }
    }
  }
}
