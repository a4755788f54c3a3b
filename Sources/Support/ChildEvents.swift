import Foundation

/// What a child's task hands to the thread that waits for it: output chunks in
/// the order they were read, then the outcome. The task only appends under the
/// lock and never waits for the reader, so it cannot be held up by it.
final class ChildEvents: @unchecked Sendable {  // all state is read and written under `condition`
  struct Chunk {
    var stream: Subprocess.Stream
    var data: Data
  }

  enum Event {
    case output([Chunk])
    case deadlinePassed
    /// The exit status (128+N for signal N), or why the child could not run.
    case finished(Swift.Result<Int32, any Error>)
  }

  private let condition = NSCondition()
  private var pending: [Chunk] = []
  private var outcome: Swift.Result<Int32, any Error>?
  /// The child's pid while its outputs are read: swift-subprocess reaps the child
  /// only after that, so until then the pid cannot belong to another process.
  private var readingFrom: pid_t?
  /// Its slots in `RunningChildren` meanwhile (a second Ctrl-C kills it, and what it
  /// started that a stop has signalled).
  private var runningSlots: [Int] = []

  func startedReading(from pid: pid_t) {
    condition.lock()
    defer { condition.unlock() }
    readingFrom = pid
    runningSlots = RunningChildren.add(pid).map { [$0] } ?? []
  }

  func stoppedReading() {
    condition.lock()
    defer { condition.unlock() }
    readingFrom = nil
    for slot in runningSlots { RunningChildren.remove(slot) }
    runningSlots = []
  }

  /// Sends `signal` to the child and to every process below it (what it started),
  /// when its pid is certainly still its own; false when it is not known so. Those
  /// below are noted in `RunningChildren` too, so that a second Ctrl-C kills them
  /// even once the child is gone.
  func signalTree(_ signal: Int32) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    guard let pid = readingFrom else { return false }
    let below = ProcessTree.descendants(of: pid)
    for process in below where !RunningChildren.contains(process) {
      if let slot = RunningChildren.add(process) { runningSlots.append(slot) }
    }
    let sent = kill(pid, signal) == 0
    for process in below { kill(process, signal) }
    return sent
  }

  func deliver(_ stream: Subprocess.Stream, _ data: Data) {
    condition.lock()
    defer { condition.unlock() }
    pending.append(Chunk(stream: stream, data: data))
    condition.signal()
  }

  /// The first outcome counts: the child's status as soon as it is known, or
  /// swift-subprocess's report at the end of the run.
  func finish(_ result: Swift.Result<Int32, any Error>) {
    condition.lock()
    defer { condition.unlock() }
    if outcome == nil { outcome = result }
    condition.signal()
  }

  /// Blocks until there is output (handed over first, all of it) or an outcome,
  /// or until `deadline` passes.
  func next(until deadline: Date?) -> Event {
    condition.lock()
    defer { condition.unlock() }
    while pending.isEmpty && outcome == nil {
      if let deadline {
        if !condition.wait(until: deadline) && pending.isEmpty && outcome == nil { return .deadlinePassed }
      } else {
        condition.wait()
      }
    }
    if !pending.isEmpty {
      defer { pending = [] }
      return .output(pending)
    }
    guard let outcome else { return .output([]) }
    return .finished(outcome)
  }
}
