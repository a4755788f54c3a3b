import Foundation
import Testing

/// Guests are scheduled, not piled on: an end-to-end suite that runs guests
/// holds one of N slots for as long as it runs, across every test process on
/// this host (a `flock` on one of N files in a shared folder), so two test runs
/// at once, or a run beside a benchmark, never boot more guests than the host
/// can run before their SSH deadlines. N is `CARAVAN_E2E_SLOTS`, else the
/// host's CPUs: a guest under TCG keeps one core busy while it boots.
/// A suite that runs two guests at once (or a build beside one) holds two slots.
struct GuestSlot: SuiteTrait, TestScoping {
  var guests = 1
  var isRecursive: Bool { false }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    let slots = try await GuestSlots.acquire(guests, for: test.name)
    defer { for slot in slots { slot.release() } }
    try await function()
  }
}

extension Trait where Self == GuestSlot {
  /// The suite runs guests, one at a time: it waits for a free guest slot first.
  static var guestSlot: Self { GuestSlot() }
  /// The suite runs `guests` guests at once: it waits for that many slots (all of
  /// them when there are fewer).
  static func guestSlots(_ guests: Int) -> Self { GuestSlot(guests: guests) }
}

enum GuestSlots {
  static let folder = "/tmp/caravan-e2e-guest-slots"

  static var count: Int {
    if let value = ProcessInfo.processInfo.environment["CARAVAN_E2E_SLOTS"].flatMap(Int.init), value > 0 {
      return value
    }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
  }

  struct Held: Sendable {
    let descriptor: Int32
    let index: Int
    func release() {
      flock(descriptor, LOCK_UN)
      close(descriptor)
    }
  }

  /// Takes `wanted` free slots (at most all there are), waiting (without blocking a
  /// thread) while too few are free. A suite that wants more than one first takes the
  /// reservation (`reserve`, exclusive): while it is held, suites wanting one slot
  /// take none, so the slots freed as running suites end go to the waiting one, which
  /// keeps what it has taken until it has them all. Two such suites take turns.
  static func acquire(_ wanted: Int, for name: String) async throws -> [Held] {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    chmod(folder, 0o1777)
    let wanted = min(max(1, wanted), count)
    let reserve = try open(folder + "/reserve")
    defer { close(reserve) }
    var held: [Held] = []
    var reserved = false
    var waitedSince: Date?
    while true {
      if wanted > 1 && !reserved {
        reserved = flock(reserve, LOCK_EX | LOCK_NB) == 0
      }
      // One slot is taken only while nobody reserves; the reservation's holder takes as they free.
      let mayTake = reserved || flock(reserve, LOCK_SH | LOCK_NB) == 0
      if mayTake {
        for index in 0..<count where held.count < wanted && !held.contains(where: { $0.index == index }) {
          let descriptor = try open("\(folder)/slot-\(index)")
          if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            held.append(Held(descriptor: descriptor, index: index))
          } else {
            close(descriptor)
          }
        }
        if !reserved { flock(reserve, LOCK_UN) }
      }
      if held.count == wanted {
        if reserved { flock(reserve, LOCK_UN) }
        if let waitedSince {
          print(
            "guest slots: \(name) waited \(Int(Date().timeIntervalSince(waitedSince))) s for slot \(held.map { String($0.index) }.joined(separator: ", "))"
          )
        }
        return held
      }
      if waitedSince == nil {
        waitedSince = Date()
        print("guest slots: \(name) waits for \(wanted) of \(count) slots in \(folder) (\(held.count) free)")
      }
      try await Task.sleep(nanoseconds: 500_000_000)
    }
  }

  private static func open(_ path: String) throws -> Int32 {
    let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot open \(path): \(errno)"])
    }
    return descriptor
  }
}
