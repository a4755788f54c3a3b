import Foundation

/// Runs `body` for each index of `0..<count` on at most `limit` threads at once and
/// returns the results in index order once every call has returned. With a limit of 1
/// (or one item) the calls run in order on the calling thread.
///
/// Threads rather than the cooperative pool: the bodies block for minutes (libvirt
/// calls, child processes, waiting for SSH). What `body` touches must be safe to use
/// from several threads; the caller vouches for that.
public func concurrentMap<T>(_ count: Int, limit: Int, _ body: (Int) -> T) -> [T] {
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
private final class ConcurrentWork<T>: @unchecked Sendable {
  // @unchecked: `next`, `slots` and `body` are only touched under `lock` (`body` is called
  // outside it: the caller vouches for its thread safety).
  private let lock = NSLock()
  private var next = 0
  private var slots: [T?]
  private var body: ((Int) -> T)?

  init(count: Int, body: @escaping (Int) -> T) {
    slots = Array(repeating: nil, count: count)
    self.body = body
  }

  /// Takes indexes until none is left.
  func drain() {
    while let (index, body) = take() {
      let result = body(index)
      lock.lock()
      slots[index] = result
      lock.unlock()
    }
  }

  private func take() -> (Int, (Int) -> T)? {
    lock.lock()
    defer { lock.unlock() }
    guard next < slots.count, let body else { return nil }
    next += 1
    return (next - 1, body)
  }

  /// Once every thread has drained: the results, and the caller's closure let go.
  func finish() -> [T] {
    lock.lock()
    defer { lock.unlock() }
    body = nil
    return slots.map { slot in
      guard let slot else { preconditionFailure("a slot was left without its result after every thread drained") }
      return slot
    }
  }
}
