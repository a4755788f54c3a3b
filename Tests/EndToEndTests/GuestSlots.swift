import Foundation
import Testing

/// Guests are scheduled, not piled on: an end-to-end suite that runs guests
/// holds one of N slots for as long as it runs, across every test process on
/// this host (a `flock` on one of N files in a shared folder), so two test runs
/// at once, or a run beside a benchmark, never boot more guests than the host
/// can run before their SSH deadlines. N is `CARAVAN_E2E_SLOTS`, else the
/// host's CPUs and one more (see `count`).
/// A suite that runs two guests at once (or a build beside one) holds two slots.
/// A suite says how many minutes it takes here (measured, rounded up): of the suites
/// waiting, the longest go first, so the tier does not end with one long suite
/// running alone (a dry run: the 9-minute build suite started last and ran 5 minutes
/// after every other suite was done).
/// The suite's tests run on threads of their own (`OwnThreadExecutor`), not on Swift's
/// cooperative pool.
struct GuestSlot: SuiteTrait, TestScoping {
  var guests = 1
  var minutes = 1
  var isRecursive: Bool { false }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    let slots = guests > 0 ? try await GuestSlots.acquire(guests, minutes: minutes, for: test.name) : []
    defer { for slot in slots { slot.release() } }
    try await withTaskExecutorPreference(OwnThreadExecutor.shared) { try await function() }
  }
}

extension Trait where Self == GuestSlot {
  /// The suite runs guests, one at a time, for about `minutes`: it waits for a free guest slot first.
  static func guestSlot(minutes: Int) -> Self { GuestSlot(minutes: minutes) }
  /// The suite runs `guests` guests at once, for about `minutes`: it waits for that many
  /// slots (all of them when there are fewer).
  static func guestSlots(_ guests: Int, minutes: Int) -> Self { GuestSlot(guests: guests, minutes: minutes) }
  /// The suite runs no guest but blocks its threads on `caravan` and other programs:
  /// it runs on threads of its own, and takes no slot.
  static var ownThreads: Self { GuestSlot(guests: 0) }
}

/// Runs each job on a new thread, outside Swift's cooperative pool. The pool is as wide
/// as the host has CPUs (2 here) and shared with `DispatchQueue.global()`; an end-to-end
/// test blocks its thread for minutes while `caravan` and its guests work, so on the
/// pool one running test (its thread and its stderr reader) left no thread for the other
/// suites' slot polling: a dry run had one guest running for 9 minutes beside a free slot.
final class OwnThreadExecutor: TaskExecutor {
  static let shared = OwnThreadExecutor()

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let executor = asUnownedTaskExecutor()
    let thread = Thread { job.runSynchronously(on: executor) }
    thread.stackSize = 8 << 20
    thread.start()
  }
}

enum GuestSlots {
  static let folder = "/tmp/caravan-e2e-guest-slots"

  static var count: Int {
    if let value = ProcessInfo.processInfo.environment["CARAVAN_E2E_SLOTS"].flatMap(Int.init), value > 0 {
      return value
    }
    // One more than the CPUs: a test guest keeps a core busy while it boots but far less
    // while its test runs commands in it; with as many slots as CPUs a dry run's guests
    // used 2,439 CPU-seconds in 1,906 s on 2 cores (the host 73% busy).
    return max(1, ProcessInfo.processInfo.activeProcessorCount) + 1
  }

  struct Held: Sendable {
    let descriptor: Int32
    let index: Int
    func release() {
      flock(descriptor, LOCK_UN)
      close(descriptor)
    }
  }

  /// Takes `wanted` free slots (at most all there are) at once, waiting (without
  /// blocking a thread) while too few are free. A suite wanting several never holds
  /// one while it waits (a slot it held would stand idle until another freed: a dry run
  /// lost 4.5 minutes so). Instead it goes first: a suite wanting one leaves the slots
  /// alone whenever two or more are free and one wanting several waits (it can start
  /// now), taking one only when one alone is free. So suites wanting two start first, and
  /// then one after another on the slots they free, while the suites wanting one go
  /// through the others: before, they waited
  /// until every suite wanting one was done, and ran one at a time at the end (a dry run:
  /// 15 minutes of the tier's 32 with one suite running).
  /// Among suites wanting as many, a longer one goes first, and a suite leaves free slots
  /// to a longer one waiting. (A suite wanting several never leaves them to one wanting
  /// one: no two suites can each wait for the other.) A waiting suite says so by holding
  /// a shared lock on `waiting-KIND-MINUTES` (KIND 1 for one slot, 2 for several).
  static func acquire(_ wanted: Int, minutes: Int, for name: String) async throws -> [Held] {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    chmod(folder, 0o1777)
    let wanted = min(max(1, wanted), count)
    let minutes = min(max(1, minutes), maxMinutes)
    let kind = min(wanted, 2)
    let waiting = try open("\(folder)/waiting-\(kind)-\(minutes)")
    defer { close(waiting) }  // also says it waits no more
    flock(waiting, LOCK_SH)
    if kind == 1 {
      // The suites start at once: the ones wanting several say so first.
      try await Task.sleep(nanoseconds: 1_000_000_000)
    }
    var waitedSince: Date?
    while true {
      var held: [Held] = []
      for index in 0..<count {
        let descriptor = try open("\(folder)/slot-\(index)")
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
          held.append(Held(descriptor: descriptor, index: index))
        } else {
          close(descriptor)
        }
      }
      let free = held.count
      let yields =
        (kind == 1 && free >= 2 && someoneWaits(wanting: 2, longerThan: 0))
        || (free >= wanted && someoneWaits(wanting: kind, longerThan: minutes))
      if free >= wanted && !yields {
        for slot in held.dropFirst(wanted) { slot.release() }
        let taken = Array(held.prefix(wanted))
        if let waitedSince {
          print(
            "guest slots: \(name) waited \(Int(Date().timeIntervalSince(waitedSince))) s for slot \(taken.map { String($0.index) }.joined(separator: ", "))"
          )
        }
        return taken
      }
      for slot in held { slot.release() }
      if waitedSince == nil {
        waitedSince = Date()
        print("guest slots: \(name) waits for \(wanted) of the \(count) slots in \(folder)")
      }
      try await Task.sleep(nanoseconds: 500_000_000)
    }
  }

  /// The longest a suite may say it takes (longer ones count as this long).
  static let maxMinutes = 30

  /// Whether a suite of this kind (1: wanting one slot, 2: several) that takes longer
  /// than `minutes` waits (0: any of that kind).
  private static func someoneWaits(wanting kind: Int, longerThan minutes: Int) -> Bool {
    guard minutes < maxMinutes else { return false }
    for longer in (minutes + 1)...maxMinutes {
      let path = "\(folder)/waiting-\(kind)-\(longer)"
      guard FileManager.default.fileExists(atPath: path), let descriptor = try? open(path) else { continue }
      defer { close(descriptor) }
      if flock(descriptor, LOCK_EX | LOCK_NB) != 0 { return true }
      flock(descriptor, LOCK_UN)
    }
    return false
  }

  private static func open(_ path: String) throws -> Int32 {
    let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot open \(path): \(errno)"])
    }
    return descriptor
  }
}
