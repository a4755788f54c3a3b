import Foundation
import Synchronization

/// What a child's task hands to the thread that waits for it: output chunks in
/// the order they were read, then the outcome. The task only appends under the
/// lock and never waits for the reader, so it cannot be held up by it.
final class ChildEvents: Sendable {
  struct Chunk: Sendable {
    var stream: Subprocess.Stream
    var data: Data
  }

  enum Event: Sendable {
    case output([Chunk])
    case deadlinePassed
    /// The exit status (128+N for signal N), or why the child could not run.
    case finished(Swift.Result<Int32, any Error>)
  }

  private struct State {
    var pending: [Chunk] = []
    var outcome: Swift.Result<Int32, any Error>?
    /// The child's pid while its outputs are read: swift-subprocess reaps the child
    /// only after that, so until then the pid cannot belong to another process.
    var readingFrom: pid_t?
    /// Its slots in `RunningChildren` meanwhile (a second Ctrl-C kills it, and what it
    /// started that a stop has signalled).
    var runningSlots: [Int] = []
    /// Every process below the child that a stop has signalled: the SIGKILL after a
    /// SIGTERM reaches them even when the child ended on the SIGTERM and they were
    /// handed to init, out of its tree.
    var signalled: Set<pid_t> = []

    /// The output there is (all of it), else the outcome, else nil.
    mutating func take() -> Event? {
      if !pending.isEmpty {
        defer { pending = [] }
        return .output(pending)
      }
      return outcome.map { .finished($0) }
    }
  }

  private let state = Mutex(State())
  /// Signalled after each change the reader waits for (output, an outcome); it takes
  /// what there is when it wakes, so a signal left over only wakes it for nothing.
  private let changed = DispatchSemaphore(value: 0)

  func startedReading(from pid: pid_t) {
    state.withLock { state in
      state.readingFrom = pid
      state.runningSlots = RunningChildren.add(pid).map { [$0] } ?? []
    }
  }

  func stoppedReading() {
    state.withLock { state in
      state.readingFrom = nil
      for slot in state.runningSlots { RunningChildren.remove(slot) }
      state.runningSlots = []
    }
  }

  /// Sends `signal` to the child and to every process below it (what it started),
  /// when its pid is certainly still its own; false when it is not known so. Those
  /// below are noted in `RunningChildren` too, so that a second Ctrl-C kills them
  /// even once the child is gone.
  func signalTree(_ signal: Int32) -> Bool {
    state.withLock { state in
      guard let pid = state.readingFrom else { return false }
      let below = state.signalled.union(ProcessTree.descendants(of: pid))
      for process in below where !RunningChildren.contains(process) {
        if let slot = RunningChildren.add(process) { state.runningSlots.append(slot) }
      }
      state.signalled = below
      let sent = kill(pid, signal) == 0
      for process in below { kill(process, signal) }
      return sent
    }
  }

  /// After a child that a SIGTERM stopped has ended: what it started that is still
  /// there (it ignored the SIGTERM and was handed to init) gets until `deadline`
  /// to end, then SIGKILL.
  func killSignalled(after deadline: Date) {
    var alive = state.withLock { $0.signalled }.filter(ProcessTree.isAlive)
    while !alive.isEmpty && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.05)
      alive = alive.filter(ProcessTree.isAlive)
    }
    for process in alive { kill(process, SIGKILL) }
  }

  func deliver(_ stream: Subprocess.Stream, _ data: Data) {
    state.withLock { $0.pending.append(Chunk(stream: stream, data: data)) }
    changed.signal()
  }

  /// The first outcome counts: the child's status as soon as it is known, or
  /// swift-subprocess's report at the end of the run.
  func finish(_ result: Swift.Result<Int32, any Error>) {
    state.withLock { state in
      if state.outcome == nil { state.outcome = result }
    }
    changed.signal()
  }

  /// Blocks until there is output (handed over first, all of it) or an outcome,
  /// or until `deadline` passes.
  func next(until deadline: Date?) -> Event {
    while true {
      if let event = state.withLock({ $0.take() }) { return event }
      guard let deadline else {
        changed.wait()
        continue
      }
      let seconds = deadline.timeIntervalSinceNow
      if seconds <= 0 || changed.wait(timeout: .now() + seconds) == .timedOut {
        return state.withLock { $0.take() } ?? .deadlinePassed
      }
    }
  }
}
