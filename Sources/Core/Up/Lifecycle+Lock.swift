import Boxes
import Foundation
import Machinefile
import Spec
import Support

/// `Machinefile.lock`: the boxes `up` resolved, written the first time, then used
/// exactly (the version it names, digests checked); `up --locked` refuses anything else.
extension Lifecycle {
  /// `Machinefile.lock` beside the Machinefile.
  public var lockPath: String { LockFile.path(forMachinefile: project.machinefilePath) }
  var lockShown: String { (lockPath as NSString).lastPathComponent }

  /// The project's lock for this run. Under `locked`, every machine's box is checked
  /// against it before anything is made: a missing lock, a box it does not name (or
  /// names from another source), an installed box whose images differ, each refused
  /// naming the machine, the box and both values.
  func openLock(_ machines: [MachineSpec], locked: Bool, updating: Set<String>? = nil) throws -> BoxLocker {
    let read = try LockFile.read(path: lockPath, shownAs: lockShown)
    let locker = BoxLocker(path: lockPath, shown: lockShown, lock: read, locked: locked, updating: updating)
    guard locked else { return locker }
    guard let read else {
      throw lockRefusal(
        "`--locked`: \(project.machinefilePath) has no \(lockShown) beside it; run `caravan lock` (or `caravan up` without --locked) and commit the file it writes"
      )
    }
    for machine in machines {
      guard let wanted = machine.box else { continue }
      let wording = "machine '\(machine.name)': box '\(wanted.name)'" + (wanted.version.map { " (\($0))" } ?? "")
      guard let entry = read.entry(for: wanted) else {
        let named = read.boxes.filter { $0.name == wanted.name }.map(\.version)
        throw lockRefusal(
          "`--locked`: \(wording) is not in \(lockShown)"
            + (named.isEmpty
              ? "" : " (it locks version \(named.joined(separator: ", ")), which the Machinefile does not admit)")
            + "; `caravan lock --update \(wanted.name)` locks it")
      }
      if let url = wanted.url, !sameSource(url, entry.source) {
        throw lockRefusal(
          "`--locked`: \(wording) comes from '\(url)' in the Machinefile, and from '\(entry.source.location)' in \(lockShown); `caravan lock --update \(wanted.name)` locks the Machinefile's"
        )
      }
      if let installed = try boxes.list().first(where: { $0.name == entry.name && $0.version == entry.version }) {
        try verify(installed, against: entry, machine: machine.name)
      }
    }
    return locker
  }

  /// The box of `wanted` that the lock names: installed from the lock's source when
  /// it is not here yet, and its images checked against the lock's digests. An
  /// installed box that differs (`box add --force` of another image) is refused under
  /// `--locked`; otherwise it is used, said, and the lock takes its digests. One just
  /// fetched that differs is removed and refused.
  func lockedBox(_ machine: MachineSpec, wanted: BoxRequirement, entry: LockedBox, in locker: BoxLocker) throws
    -> InstalledBox
  {
    if let installed = try boxes.list().first(where: { $0.name == entry.name && $0.version == entry.version }) {
      do {
        try verify(installed, against: entry, machine: machine.name)
      } catch let refusal as MachinefileError where !locker.locked {
        reporter.warning(
          "\(refusal.diagnostics.first?.message ?? "\(refusal)"). Using the installed box and writing its digests into \(lockShown) (`up --locked` refuses it)"
        )
        locker.record(try lockEntry(for: installed, wanted: wanted))
      }
      return installed
    }
    reporter.step(
      machine.name,
      "box '\(entry.name)' (\(entry.version)) is not installed; adding it from \(entry.source.text), as \(lockShown) says"
    )
    let installer = BoxInstaller(store: boxes, environment: environment)
    installer.report(to: reporter, as: machine.name)
    var request: BoxInstaller.Request
    switch entry.source.kind {
    case .catalog:
      request = BoxInstaller.Request(source: entry.source.location, name: entry.name, version: "= \(entry.version)")
    case .oci:
      request = BoxInstaller.Request(source: entry.source.location, name: entry.name, version: entry.version)
    case .url, .file, .imageIndex:
      // An index name goes through the index; the pinned digest refuses an image it no longer serves.
      request = BoxInstaller.Request(
        source: entry.source.kind == .imageIndex ? entry.name : entry.source.location, name: entry.name,
        version: entry.version)
      request.checksum = try entry.sha256.map { try Checksum(kind: .sha256, hex: $0) }
    case .installed:
      throw CaravanError(
        .notFound,
        "machine '\(machine.name)': box '\(entry.name)' (\(entry.version)) is locked in \(lockShown) as installed by hand, and it is not installed here",
        hint:
          "Add it (`caravan box add \(entry.name) FILE --box-version \(entry.version)`), or give the box line a `url:` and run `caravan lock --update \(entry.name)`."
      )
    }
    let box = try installer.add(request)
    do {
      try verify(box, against: entry, machine: machine.name)
    } catch {
      // What the source serves now is not what was locked: nothing of it stays.
      try? boxes.remove(box)
      throw error
    }
    return box
  }

  /// The installed box's images are the ones the lock names.
  func verify(_ box: InstalledBox, against entry: LockedBox, machine: String) throws {
    let disks = try BoxImageDigest.disks(in: box.directory, metadata: box.metadata)
    for (file, locked) in entry.disks.sorted(by: { $0.key < $1.key }) where disks[file] != locked {
      throw lockRefusal(
        "machine '\(machine)': box '\(entry.name)' (\(entry.version)) differs from \(lockShown): its image '\(file)' has sha256 \(disks[file] ?? "(missing)"), the lock says \(locked); `caravan lock --update \(entry.name)` accepts the installed one, `caravan box remove \(entry.name) --box-version \(entry.version)` lets `up` fetch the locked one again"
      )
    }
    if Set(disks.keys) != Set(entry.disks.keys) {
      throw lockRefusal(
        "machine '\(machine)': box '\(entry.name)' (\(entry.version)) has the images \(disks.keys.sorted().joined(separator: ", ")), \(lockShown) names \(entry.disks.keys.sorted().joined(separator: ", ")); `caravan lock --update \(entry.name)` accepts the installed one"
      )
    }
  }

  /// The lock entry of a box as installed: where it came from, by the Machinefile's
  /// line or what the box store recorded, and its digests.
  func lockEntry(for box: InstalledBox, wanted: BoxRequirement) throws -> LockedBox {
    let record = BoxSourceRecord.load(in: box.directory)
    let source: LockedSource
    if let url = wanted.url, OCIReference.isOCI(url) {
      source = LockedSource(kind: .oci, location: record?.source ?? url)
    } else if let record, OCIReference.isOCI(record.source) {
      source = LockedSource(kind: .oci, location: record.source)
    } else if let url = wanted.url {
      let catalog = boxes.catalogURL(name: box.name)
      let location = Lifecycle.isURL(url) ? url : FileSystem.resolve(url, relativeTo: project.root)
      let kind: LockedSource.Kind =
        catalog == location || catalog == url ? .catalog : (Lifecycle.isURL(url) ? .url : .file)
      source = LockedSource(kind: kind, location: location)
    } else if let image = box.metadata.image, image.indexName != nil {
      source = LockedSource(kind: .imageIndex, location: image.source)
    } else if let catalog = boxes.catalogURL(name: box.name) {
      source = LockedSource(kind: .catalog, location: catalog)
    } else if let record {
      source = LockedSource(kind: Lifecycle.isURL(record.source) ? .url : .file, location: record.source)
    } else {
      source = LockedSource(kind: .installed, location: "")
    }
    return LockedBox(
      name: box.name, version: box.version, provider: box.metadata.provider, source: source,
      sha256: record?.sha256, disks: try BoxImageDigest.disks(in: box.directory, metadata: box.metadata))
  }

  /// The lock's entry for the machine's box line, when the line's `url:` (if any) is the entry's source.
  func lockedEntry(_ wanted: BoxRequirement, in locker: BoxLocker) -> LockedBox? {
    guard let entry = locker.entry(for: wanted) else { return nil }
    if let url = wanted.url, !sameSource(url, entry.source) { return nil }
    return entry
  }

  private func sameSource(_ url: String, _ source: LockedSource) -> Bool {
    if source.kind == .oci, let line = try? OCIReference(parsing: url),
      let locked = try? OCIReference(parsing: source.location)
    {
      // A tag in the Machinefile, pinned to a digest in the lock.
      return line.sameTag(as: locked) && (line.digest == nil || line.digest == locked.digest)
    }
    return url == source.location || FileSystem.resolve(url, relativeTo: project.root) == source.location
  }

  static func isURL(_ text: String) -> Bool {
    ["http://", "https://", "file://"].contains { text.lowercased().hasPrefix($0) }
  }

  /// A lock that does not fit: exit 65, as an invalid Machinefile.
  func lockRefusal(_ message: String) -> MachinefileError {
    MachinefileError(diagnostics: [
      Diagnostic(message: message, location: SourceLocation(line: 0, column: 0), file: lockShown)
    ])
  }
}

extension Lifecycle {
  /// `caravan lock [--update [BOX…]]`: resolves each machine's box as `up` would
  /// (installing what is missing, booting nothing) and writes `Machinefile.lock`;
  /// `update` (empty: every box) resolves those boxes anew, to the newest version
  /// their box line admits (a catalog is asked again). Returns what changed, in words.
  public func lock(_ machines: [MachineSpec], update: Set<String>? = nil) throws -> [String] {
    let locker = try openLock([], locked: false, updating: update)
    if let update {
      let known = Set(machines.compactMap(\.box?.name))
      if let unknown = update.sorted().first(where: { !known.contains($0) }) {
        throw CaravanError(
          .invalidInput, "no machine of this project uses box '\(unknown)'",
          hint: "Its boxes: \(known.sorted().joined(separator: ", ")).")
      }
    }
    for machine in machines {
      guard let wanted = machine.box else { continue }
      let existing = try project.loadRecord(machine.name)
      if locker.isUpdating(wanted.name) {
        try refreshBox(machine)
      }
      // A machine that exists keeps its box version: that is what it boots.
      let box = try resolveBox(machine, existing: locker.isUpdating(wanted.name) ? nil : existing, lock: locker)
      if locker.entry(for: wanted) == nil || locker.isUpdating(wanted.name) {
        locker.record(try lockEntry(for: box, wanted: wanted))
      }
    }
    try locker.save()
    return locker.original == nil && locker.changes.isEmpty ? ["\(lockShown) written, empty"] : locker.changes
  }

  /// For an update: a catalog box gets the newest version its line admits added now,
  /// as `box update` adds it (a box without a catalog stays as it is).
  private func refreshBox(_ machine: MachineSpec) throws {
    let installer = BoxInstaller(store: boxes, environment: environment)
    installer.report(to: reporter, as: machine.name)
    for target in try BoxTarget.resolve(store: boxes, machines: { [machine] }) where target.catalog != nil {
      _ = try installer.update(target)
    }
  }
}
