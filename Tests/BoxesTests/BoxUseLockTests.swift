import Foundation
import Support
import TestSupport
import Testing

@testable import Boxes

/// `FileLock`'s shared mode and the box use lock built on it, between threads
/// of this process and against another process.
struct BoxUseLockTests {
  let root = NSTemporaryDirectory() + "caravan-uselock-\(UUID().uuidString)"
  var lockFile: String { root + "/test.lock" }

  @Test func sharedHoldersCoexistAndKeepAnExclusiveOneOut() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let first = try FileLock(path: lockFile, shared: true)
    let second = try FileLock(path: lockFile, shared: true, wait: false)
    #expect(throws: CaravanError.self) { try FileLock(path: lockFile, wait: false) }
    first.unlock()
    #expect(throws: CaravanError.self) { try FileLock(path: lockFile, wait: false) }
    second.unlock()
    let exclusive = try FileLock(path: lockFile, wait: false)
    #expect(throws: CaravanError.self) { try FileLock(path: lockFile, shared: true, wait: false) }
    exclusive.unlock()
  }

  @Test func anExclusiveLockWaitsForASharedHolderInAnotherThread() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let shared = try FileLock(path: lockFile, shared: true)
    let events = Locked<[String]>([])
    let path = lockFile
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      let exclusive = try? FileLock(
        path: path, waitNotice: { _ in events.withLock { $0.append("waiting") } })
      events.withLock { $0.append(exclusive == nil ? "failed" : "locked") }
      exclusive?.unlock()
      done.signal()
    }
    Thread.sleep(forTimeInterval: 0.3)
    #expect(events.current == ["waiting"])
    events.withLock { $0.append("released") }
    shared.unlock()
    #expect(done.wait(timeout: .now() + 5) == .success)
    #expect(events.current == ["waiting", "released", "locked"])
  }

  @Test func anotherProcessHoldingItSharedKeepsAnExclusiveLockOut() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    // One process holding LOCK_SH on the file (as another caravan's `up` would), until killed.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = [
      "python3", "-c",
      "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_SH); print('held', flush=True); time.sleep(60)",
      lockFile,
    ]
    let out = Pipe()
    holder.standardOutput = out
    try holder.run()
    defer {
      kill(holder.processIdentifier, SIGKILL)
      holder.waitUntilExit()
    }
    #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("held"))
    let shared = try FileLock(path: lockFile, shared: true, wait: false)
    shared.unlock()
    let busy = try #require(throws: CaravanError.self) {
      try FileLock(path: lockFile, wait: false, busy: CaravanError(.conflict, "busy"))
    }
    #expect(busy.message == "busy")
    kill(holder.processIdentifier, SIGKILL)
    holder.waitUntilExit()
    let exclusive = try FileLock(path: lockFile, wait: false)
    exclusive.unlock()
  }

  @Test func theUseLockOfABoxRemovedMeanwhileIsRefused() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = BoxStore(root: root + "/boxes")
    let box = try store.install(name: "t/use", version: "1.0", force: false, source: "test") { staging in
      try Data(#"{"provider":"libvirt","format":"qcow2"}"#.utf8).write(
        to: URL(fileURLWithPath: staging + "/metadata.json"))
      try Data(count: 512).write(to: URL(fileURLWithPath: staging + "/box.img"))
    }
    let lock = try store.useLock(for: box)
    #expect(lock.shared)
    #expect(lock.path == root + "/locks/box-use-t-VAGRANTSLASH-use-1.0.lock")
    lock.unlock()
    try store.remove(box)
    let error = try #require(throws: CaravanError.self) { try store.useLock(for: box) }
    #expect(error.message == "box 't/use' (1.0) was removed by another caravan process while this one chose it")
  }
}
