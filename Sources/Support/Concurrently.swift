import Foundation
import Synchronization

/// Runs `body` for each index of `0..<count` on at most `limit` threads at once and
/// returns the results in index order once every call has returned. With a limit of 1
/// (or one item) the calls run in order on the calling thread.
///
/// Threads rather than the cooperative pool: the bodies block for minutes (libvirt
/// calls, child processes, waiting for SSH). `body` is `@Sendable`, so the compiler
/// checks that what it touches may be used from several threads.
public func concurrentMap<T: Sendable>(_ count: Int, limit: Int, _ body: @Sendable (Int) -> T) -> [T] {
  if count <= 1 || limit <= 1 { return (0..<count).map(body) }
  return withoutActuallyEscaping(body) { body in
    let work = ConcurrentWork(count: count, body: body)
    let done = DispatchSemaphore(value: 0)
    let threads = min(limit, count)
    for number in 0..<threads {
      let thread = Thread {
        work.drain()
        done.signal()
      }
      thread.name = "caravan-worker-\(number + 1)"
      // The bodies run whole commands (ssh, JSON, provisioners): the main thread's stack size.
      thread.stackSize = 8 << 20
      thread.start()
    }
    for _ in 0..<threads { done.wait() }
    // The threads may outlive this call by a moment (they still hold `work`): the
    // caller's closure must not, so `work` lets go of it before we return.
    return work.finish()
  }
}

/// The shared state of one `concurrentMap`: the next index to take and the results.
private final class ConcurrentWork<T: Sendable>: Sendable {
  private struct State {
    var next = 0
    var slots: [T?]
    var body: (@Sendable (Int) -> T)?
  }
  private let state: Mutex<State>

  init(count: Int, body: @escaping @Sendable (Int) -> T) {
    state = Mutex(State(slots: Array(repeating: nil, count: count), body: body))
  }

  /// Takes indexes until none is left.
  func drain() {
    while let (index, body) = take() {
      let result = body(index)
      state.withLock { $0.slots[index] = result }
    }
  }

  private func take() -> (Int, @Sendable (Int) -> T)? {
    state.withLock { state in
      guard state.next < state.slots.count, let body = state.body else { return nil }
      state.next += 1
      return (state.next - 1, body)
    }
  }

  /// Once every thread has drained: the results, and the caller's closure let go.
  func finish() -> [T] {
    state.withLock { state in
      state.body = nil
      return state.slots.map { slot in
        guard let slot else { preconditionFailure("a slot was left without its result after every thread drained") }
        return slot
      }
    }
  }
}
