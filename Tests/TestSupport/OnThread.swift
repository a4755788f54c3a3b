import Foundation

/// Runs `body` on a new thread (not one of the concurrency pool, where Swift
/// Testing runs tests) and waits for it without blocking the pool: `Subprocess`
/// blocks its caller, and must not block every thread of the pool.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread { continuation.resume(with: Result { try body() }) }.start()
  }
}
