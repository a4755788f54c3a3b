import Synchronization

/// A value shared between tasks, read and written under a lock: a `Mutex` that can be
/// held by reference (captured by an escaping closure).
final class Guarded<Value>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: sending Value) { mutex = Mutex(value) }

  func withLock<Result, Failure: Error>(
    _ body: (inout sending Value) throws(Failure) -> sending Result
  ) throws(Failure) -> sending Result {
    try mutex.withLock(body)
  }
}
