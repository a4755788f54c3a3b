import Foundation

/// Runs async work from the build's synchronous flow.
func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
  let semaphore = DispatchSemaphore(value: 0)
  let outcome = Guarded<Result<T, Error>?>(nil)
  Task {
    let result: Result<T, Error>
    do { result = .success(try await body()) } catch { result = .failure(error) }
    outcome.withLock { $0 = result }
    semaphore.signal()
  }
  semaphore.wait()
  guard let result = outcome.withLock({ $0 }) else {
    preconditionFailure("the task signalled before it set its result")
  }
  return try result.get()
}

func waitFor(_ body: @escaping @Sendable () async -> Void) {
  _ = try? waitFor { () async throws -> Int in
    await body()
    return 0
  }
}
