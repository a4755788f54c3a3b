import Boxes
import Foundation
import Machinefile
import Spec
import Support
import Synchronization

/// `Machinefile.lock` during one `up` or `caravan lock`: the lock as read, the entries
/// this run resolved, and whether it must match (`--locked`). The workers of a
/// parallel `up` share it.
final class BoxLocker: Sendable {
  let path: String
  /// The lock's name in messages (`Machinefile.lock`).
  let shown: String
  /// `up --locked`: nothing may differ from the lock, and nothing is added to it.
  let locked: Bool
  /// `caravan lock --update`: these box names (all when empty) are resolved anew.
  let updating: Set<String>?
  private struct State {
    var lock: BoxLock
    var changes: [String] = []
    /// Names whose older entries this update has already dropped.
    var refreshed: Set<String> = []
  }
  private let state: Mutex<State>
  let original: BoxLock?

  init(path: String, shown: String, lock: BoxLock?, locked: Bool, updating: Set<String>? = nil) {
    self.path = path
    self.shown = shown
    self.locked = locked
    self.updating = updating
    original = lock
    state = Mutex(State(lock: lock ?? BoxLock()))
  }

  /// Whether the box of this name is to be resolved anew (`lock --update`).
  func isUpdating(_ name: String) -> Bool {
    guard let updating else { return false }
    return updating.isEmpty || updating.contains(name)
  }

  /// The entry a box line resolves to, unless it is being updated.
  func entry(for box: BoxRequirement) -> LockedBox? {
    if isUpdating(box.name) { return nil }
    return state.withLock { $0.lock.entry(for: box) }
  }

  /// Adds (or replaces) an entry, saying what changed.
  func record(_ entry: LockedBox) {
    state.withLock { state in
      let before = state.lock.boxes.first { $0.name == entry.name && $0.version == entry.version }
      guard before != entry else { return }
      let older = state.lock.boxes.filter { $0.name == entry.name && $0.version != entry.version }
      var lock = state.lock
      // An update replaces the box's older entries (once: two machines may lock two versions).
      if isUpdating(entry.name) && state.refreshed.insert(entry.name).inserted {
        lock = BoxLock(boxes: lock.boxes.filter { $0.name != entry.name })
      }
      state.lock = lock.with(entry)
      if let before {
        state.changes.append("box '\(entry.name)' \(entry.version): digests changed (\(before.source.text))")
      } else if let old = older.first, isUpdating(entry.name) {
        state.changes.append("box '\(entry.name)': \(old.version) -> \(entry.version)")
      } else {
        state.changes.append("box '\(entry.name)' \(entry.version) (\(entry.source.text)) added")
      }
    }
  }

  /// What changed since the lock was read, in words.
  var changes: [String] { state.withLock { $0.changes } }
  var lock: BoxLock { state.withLock { $0.lock } }

  /// Writes the lock when this run changed it (never under `--locked`).
  func save() throws {
    guard !locked else { return }
    let (lock, changes) = state.withLock { ($0.lock, $0.changes) }
    guard !changes.isEmpty || original == nil else { return }
    try LockFile.write(lock, to: path)
  }
}
