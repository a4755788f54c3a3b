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

  func deliver(_ stream: Subprocess.Stream, _ data: Data) {
    condition.lock()
    defer { condition.unlock() }
    pending.append(Chunk(stream: stream, data: data))
    condition.signal()
  }

  func finish(_ result: Swift.Result<Int32, any Error>) {
    condition.lock()
    defer { condition.unlock() }
    outcome = result
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
