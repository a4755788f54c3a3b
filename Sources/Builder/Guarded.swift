import Foundation

/// A value shared between tasks, read and written under a lock.
final class Guarded<Value>: @unchecked Sendable {
  // @unchecked: `value` is only touched inside `withLock`.
  private var value: Value
  private let lock = NSLock()

  init(_ value: Value) { self.value = value }

  func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
