import Foundation
import Synchronization

/// The thread that runs the tasks of child processes (spawning, writing, reading,
/// noticing the end), one job after another, so that they do not wait for the
/// Swift concurrency pool: the pool may be full of callers blocked in
/// `Subprocess` (or of other blocking work, as in a test run), and a child must
/// still be started, read, reported and killed at its deadline. Jobs here do not
/// wait (for a few milliseconds at most, in `ChildProcess.endedStatus`): the
/// waiting is done by swift-subprocess's own threads (epoll, spawning), which
/// hand the results back as jobs.
///
/// Not all of a run is here: swift-subprocess starts one unstructured `Task` per
/// run (to clean up on cancellation, in `withUncancelledTask`), which does not
/// inherit an executor preference, so it runs on the pool, and the run ends only
/// after it has. That is why `ChildProcess` reads the child's status itself.
final class ChildExecutor: TaskExecutor, Sendable {
  static let shared = ChildExecutor()

  private let jobs = Mutex<[UnownedJob]>([])
  /// Signalled once for each job enqueued; the thread takes every job there is when it wakes.
  private let enqueued = DispatchSemaphore(value: 0)

  private init() {
    let thread = Thread { [self] in runJobs() }
    thread.name = "caravan-subprocess"
    thread.start()
  }

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    jobs.withLock { $0.append(job) }
    enqueued.signal()
  }

  private func runJobs() {
    while true {
      enqueued.wait()
      let batch = jobs.withLock { jobs in
        defer { jobs = [] }
        return jobs
      }
      for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
  }
}
