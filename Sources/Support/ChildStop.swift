import Foundation

/// When and how `Subprocess.run` stops its child: past its deadline (SIGKILL at
/// once), or on an interrupt that came while it ran (SIGTERM to it and to what it
/// started, so each may clean up, then SIGKILL `Subprocess.termGrace` later).
/// Once killed, its end is awaited `Subprocess.stopGrace` at most. A child started
/// after the interrupt (a clean-up's) is left to run: the next interrupt ends the
/// process anyway.
struct ChildStop {
  enum Reason { case timeout, interrupt }

  let program: String
  let timeout: Double?
  let interrupt: Interrupt
  let events: ChildEvents
  /// Cancels the child's task: swift-subprocess then kills it too (the one way once its outputs closed).
  let cancel: () -> Void
  private let interruptsBefore: Int
  private let deadline: Date?
  private(set) var reason: Reason?
  /// When the stop goes on to its next stage: SIGKILL after SIGTERM, then giving up waiting.
  private var stage: (next: Date, killed: Bool)?

  init(program: String, timeout: Double?, interrupt: Interrupt, events: ChildEvents, cancel: @escaping () -> Void) {
    self.program = program
    self.timeout = timeout
    self.interrupt = interrupt
    self.events = events
    self.cancel = cancel
    interruptsBefore = interrupt.count
    deadline = timeout.map { Date().addingTimeInterval($0) }
  }

  /// When to look again, at the latest: an interrupt is looked for every `Interrupt.pollInterval`.
  var nextWake: Date {
    let poll = Date().addingTimeInterval(Interrupt.pollInterval)
    return min(stage?.next ?? deadline ?? poll, poll)
  }

  var interrupted: Bool { interrupt.count > interruptsBefore }

  /// Called when `nextWake` passed with no news from the child.
  mutating func wake() throws {
    let now = Date()
    if let current = stage {
      guard now >= current.next else { return }
      if current.killed { throw error }
      kill()
    } else if interrupted {
      reason = .interrupt
      if !events.signalTree(SIGTERM) { cancel() }
      stage = (now.addingTimeInterval(Subprocess.termGrace), false)
    } else if let deadline, now >= deadline {
      reason = .timeout
      kill()
    }
  }

  private mutating func kill() {
    _ = events.signalTree(SIGKILL)
    cancel()
    stage = (Date().addingTimeInterval(Subprocess.stopGrace), true)
  }

  /// The child ended: its status, or the error of the stop. A child that failed as an
  /// interrupt came (the terminal's Ctrl-C reaches it too) failed because of it; one
  /// that succeeded did its work, which the caller may record.
  func finished(_ outcome: Result<Int32, any Error>) throws -> Int32 {
    if reason == .interrupt, let stage, !stage.killed { events.killSignalled(after: stage.next) }
    if reason != nil { throw error }
    let status = try outcome.get()
    if status != 0 && interrupted { throw error }
    return status
  }

  var error: CaravanError {
    reason == .timeout
      ? CaravanError(.timeout, "'\(program)' did not finish within \(Int(timeout ?? 0)) s and was stopped")
      : Interrupt.stopped("interrupted: '\(program)' was stopped")
  }
}
