import Foundation

/// A value shared between threads in tests, guarded by a lock.
public final class Locked<Value>: @unchecked Sendable {
  // @unchecked: every access to `value` goes through `lock`.
  private var value: Value
  private let lock = NSLock()

  public init(_ value: Value) { self.value = value }

  public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }

  public var current: Value { withLock { $0 } }
}
