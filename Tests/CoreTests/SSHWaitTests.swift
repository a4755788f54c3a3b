import Foundation
import Support
import Testing

@testable import Core

/// The one SSH wait: it returns at the first answer, stops at once for a guest
/// that stopped, an interrupt or the deadline, and says what the last probe said.
struct SSHWaitTests {
  struct Stopped: Error {}
  struct TimedOut: Error { let last: String }

  @Test func itReturnsAtTheFirstAnswerAndReportsEachFailedProbe() throws {
    var probes = 0
    var reported: [String] = []
    try SSHWait(deadline: Date() + 30, interval: 0.01, interrupt: Interrupt()).run(
      probe: {
        probes += 1
        return (probes == 3, "try \(probes)")
      },
      stopped: { nil }, timedOut: { TimedOut(last: $0) }, progress: { reported.append($1) })
    #expect(probes == 3)
    #expect(reported == ["try 1", "try 2"])
  }

  @Test func aStoppedGuestEndsTheWaitAtOnce() {
    var probes = 0
    #expect(throws: Stopped.self) {
      try SSHWait(deadline: Date() + 30, interval: 0.01, interrupt: Interrupt()).run(
        probe: {
          probes += 1
          return (false, "refused")
        },
        stopped: { probes == 2 ? Stopped() : nil }, timedOut: { TimedOut(last: $0) }, progress: { _, _ in })
    }
    #expect(probes == 2)
  }

  @Test func theDeadlineSaysTheLastProbesWords() throws {
    let error = try #require(throws: TimedOut.self) {
      try SSHWait(deadline: Date() + 0.05, interval: 0.01, interrupt: Interrupt()).run(
        probe: { (false, "Connection refused") }, stopped: { nil }, timedOut: { TimedOut(last: $0) },
        progress: { _, _ in })
    }
    #expect(error.last == "Connection refused")
  }

  @Test func anInterruptStopsTheWait() throws {
    let interrupt = Interrupt()
    let error = try #require(throws: CaravanError.self) {
      try SSHWait(deadline: Date() + 30, interval: 0.01, interrupt: interrupt).run(
        probe: {
          interrupt.request()
          return (true, "")
        }, stopped: { nil }, timedOut: { TimedOut(last: $0) }, progress: { _, _ in })
    }
    #expect(error.kind == .interrupted, "an interrupt during the probe wins over its answer")
  }
}
