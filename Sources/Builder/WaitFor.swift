import Foundation

/// Runs async work from the build's synchronous flow.
func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
  let semaphore = DispatchSemaphore(value: 0)
  nonisolated(unsafe) var result: Result<T, Error>?
  Task {
    do { result = .success(try await body()) } catch { result = .failure(error) }
    semaphore.signal()
  }
  semaphore.wait()
  guard let result else { preconditionFailure("the task signalled before it set its result") }
  return try result.get()
}

func waitFor(_ body: @escaping @Sendable () async -> Void) {
  _ = try? waitFor { () async throws -> Int in
    await body()
    return 0
  }
}
