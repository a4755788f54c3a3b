import Foundation
import Support
import Testing

@testable import Provisioning

/// Real inotify: a change anywhere under a root is seen, in folders made after the
/// watch started too; a stop request ends the wait.
struct FolderWatcherTests {
  /// Waits for a change (at most 20 s, so a missed event fails instead of hanging).
  func next(_ watcher: FolderWatcher) throws -> Set<String> {
    let deadline = Date().addingTimeInterval(20)
    return try watcher.next(quiet: 0.2) { Date() > deadline }
  }

  @Test func changesInNewAndOldSubfoldersAreSeenAndStopEndsTheWait() throws {
    let one = try FileSystem.makeTemporaryDirectory(prefix: "caravan-watch-one")
    let two = try FileSystem.makeTemporaryDirectory(prefix: "caravan-watch-two")
    defer {
      try? FileManager.default.removeItem(atPath: one)
      try? FileManager.default.removeItem(atPath: two)
    }
    try FileManager.default.createDirectory(atPath: one + "/old/deep", withIntermediateDirectories: true)
    let watcher = try FolderWatcher(roots: [one, two])
    #expect(watcher.count == 4)

    try Data("x".utf8).write(to: URL(fileURLWithPath: one + "/old/deep/file"))
    #expect(try next(watcher) == [one])

    try FileManager.default.createDirectory(atPath: two + "/new", withIntermediateDirectories: false)
    #expect(try next(watcher) == [two])
    try Data("y".utf8).write(to: URL(fileURLWithPath: two + "/new/file"))
    #expect(try next(watcher) == [two], "a folder made after the start is watched")

    try FileManager.default.removeItem(atPath: one + "/old/deep/file")
    #expect(try next(watcher) == [one])

    #expect(try watcher.next(quiet: 0.2) { true }.isEmpty)
  }
}
