import Foundation
import Testing

/// Guests are scheduled, not piled on: an end-to-end suite that runs guests
/// holds one of N slots for as long as it runs, across every test process on
/// this host (a `flock` on one of N files in a shared folder), so two test runs
/// at once, or a run beside a benchmark, never boot more guests than the host
/// can run before their SSH deadlines. N is `CARAVAN_E2E_SLOTS`, else the
/// host's CPUs: a guest under TCG keeps one core busy while it boots.
struct GuestSlot: SuiteTrait, TestScoping {
  var isRecursive: Bool { false }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    let slot = try await GuestSlots.acquire(for: test.name)
    defer { slot.release() }
    try await function()
  }
}

extension Trait where Self == GuestSlot {
  /// The suite runs guests: it waits for a free guest slot first.
  static var guestSlot: Self { GuestSlot() }
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
    func release() {
      flock(descriptor, LOCK_UN)
      close(descriptor)
    }
  }

  /// Takes the first free slot, waiting (without blocking a thread) while all are taken.
  static func acquire(for name: String) async throws -> Held {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    chmod(folder, 0o1777)
    var waitedSince: Date?
    while true {
      for index in 0..<count {
        let path = "\(folder)/slot-\(index)"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { continue }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
          if let waitedSince {
            print("guest slots: \(name) waited \(Int(Date().timeIntervalSince(waitedSince))) s for slot \(index)")
          }
          return Held(descriptor: descriptor)
        }
        close(descriptor)
      }
      if waitedSince == nil {
        waitedSince = Date()
        print("guest slots: \(name) waits: all \(count) slots in \(folder) are taken")
      }
      try await Task.sleep(nanoseconds: 500_000_000)
    }
  }
}
