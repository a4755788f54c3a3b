import Foundation
import Synchronization

/// A value shared between threads in tests, guarded by a lock: a `Mutex` that can be
/// held by reference (captured by an escaping closure).
public final class Locked<Value>: Sendable {
  private let mutex: Mutex<Value>

  public init(_ value: sending Value) { mutex = Mutex(value) }

  public func withLock<R, Failure: Error>(
    _ body: (inout sending Value) throws(Failure) -> sending R
  ) throws(Failure) -> sending R {
    try mutex.withLock(body)
  }
}

extension Locked where Value: Sendable {
  public var current: Value { withLock { $0 } }
}
