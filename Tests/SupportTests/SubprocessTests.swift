import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Support

/// `Subprocess` with real programs: statuses, outputs, input, deadlines and errors.
///
/// Each test calls it from a thread of its own, as Caravan does (`onThread`):
/// Swift Testing runs test bodies on the Swift concurrency pool, which a blocking
/// call must not fill (see `Subprocess.run(output:)`).
struct SubprocessTests {
  @Test func exitStatusIsPassedThrough() async throws {
    #expect(try await onThread { try Subprocess(["sh", "-c", "exit 42"]).run().status } == 42)
    #expect(try await onThread { try Subprocess(["true"]).run().status } == 0)
  }

  @Test func aSignalGivesStatus128PlusItsNumber() async throws {
    #expect(try await onThread { try Subprocess(["sh", "-c", "kill -9 $$"]).run().status } == 137)
    #expect(try await onThread { try Subprocess(["sh", "-c", "kill -TERM $$"]).run().status } == 143)
  }

  @Test func standardOutputAndErrorAreKeptApart() async throws {
    let result = try await onThread { try Subprocess(["sh", "-c", "echo out; echo err >&2; echo out2"]).run() }
    #expect(result.stdout == "out\nout2\n")
    #expect(result.stderr == "err\n")
  }

  @Test func argumentsArriveAsGivenAfterTheProgramName() async throws {
    let result = try await onThread {
      try Subprocess(["sh", "-c", #"printf '%s|' "$0" "$@""#, "a b", "'c'", ""]).run()
    }
    #expect(result.stdout == "a b|'c'||")
    let argv0 = try await onThread { try Subprocess(["bash", "-c", #"printf %s "$BASH_ARGV0""#]).run() }
    #expect(argv0.stdout == "bash")
  }

  @Test func aProgramGivenAsAPathRunsFromThere() async throws {
    #expect(try await onThread { try Subprocess(["/bin/sh", "-c", "exit 7"]).run().status } == 7)
    let error = await #expect(throws: CaravanError.self) {
      try await onThread { try Subprocess(["/nonexistent/caravan-tool"]).run() }
    }
    #expect(error?.kind == .notFound)
    #expect(
      error?.message.hasPrefix("cannot run '/nonexistent/caravan-tool': ") == true, "\(String(describing: error))")
  }

  @Test func theEnvironmentIsTheOneGiven() async throws {
    let result = try await onThread {
      try Subprocess(
        ["sh", "-c", "echo \"$CARAVAN_A|${HOME-unset}\""],
        environment: ["CARAVAN_A": "a b 'c'", "PATH": "/usr/bin:/bin"]
      ).run()
    }
    #expect(result.stdout == "a b 'c'|unset\n")
  }

  /// The child waits for a file that the handler of its first line creates: it can
  /// only go on (and end) if that line reached us while it was still running.
  @Test func linesComeInOrderWhileTheChildRuns() async throws {
    let marker = NSTemporaryDirectory() + "caravan-subprocess-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: marker) }
    let script = """
      echo one; echo two; echo warning >&2
      while [ ! -e "$1" ]; do sleep 0.05; done
      echo three; printf partial
      """
    let (status, lines) = try await onThread {
      var lines: [String] = []
      let status = try Subprocess(["sh", "-c", script, "sh", marker], timeout: 20).runStreamingLines { stream, line in
        lines.append("\(stream) \(line)")
        if line == "one" { _ = FileManager.default.createFile(atPath: marker, contents: nil) }
      }
      return (status, lines)
    }
    #expect(status == 0)
    #expect(lines.filter { $0.hasPrefix("stdout") } == ["stdout one", "stdout two", "stdout three", "stdout partial"])
    #expect(lines.contains("stderr warning"))
  }

  @Test func eightMebibytesOfInputArriveWhole() async throws {
    let input = Data((0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    let result = try await onThread { try Subprocess(["wc", "-c"], input: input, timeout: 60).run() }
    #expect(result.status == 0)
    #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "8388608")
  }

  /// `cat` writes back while it is still being written to.
  @Test func largeInputAndOutputAtOnceDoNotDeadlock() async throws {
    let input = Data(repeating: UInt8(ascii: "x"), count: 4 << 20)
    let result = try await onThread { try Subprocess(["cat"], input: input, timeout: 60).run() }
    #expect(result.status == 0)
    #expect(result.stdout.utf8.count == 4 << 20)
  }

  /// `true` exits at once, `sh` a little later, neither reads: no hang, no SIGPIPE for us.
  @Test func aChildThatIgnoresItsInputDoesNotHangUs() async throws {
    let input = Data(repeating: 0, count: 8 << 20)
    #expect(try await onThread { try Subprocess(["true"], input: input, timeout: 20).run().status } == 0)
    let status = try await onThread {
      try Subprocess(["sh", "-c", "exec 0<&-; sleep 0.3; exit 3"], input: input, timeout: 20).run().status
    }
    #expect(status == 3)
  }

  @Test func theDeadlineKillsTheChild() async throws {
    let (elapsed, error) = try await onThread { timed { try Subprocess(["sleep", "30"], timeout: 1).run() } }
    #expect(error?.kind == .timeout)
    #expect(error?.message == "'sleep' did not finish within 1 s and was stopped")
    // Stopped at the deadline, not when `sleep 30` ends (a loaded machine adds seconds).
    #expect(elapsed < 20)
  }

  /// A child that neither reads its input nor ends: the deadline still stops it.
  @Test func theDeadlineAlsoStopsAChildThatDoesNotReadItsInput() async throws {
    let (elapsed, error) = try await onThread {
      timed { try Subprocess(["sleep", "30"], input: Data(count: 1 << 20), timeout: 1).run() }
    }
    #expect(error?.kind == .timeout)
    #expect(elapsed < 20)
  }

  /// With every thread of the concurrency pool busy (as in a full test run), output
  /// still streams, a child's end is still reported as it ends, and a child past
  /// its deadline is still killed then. The pool is held until all of that was seen
  /// (by a thread of its own), so the test asks for an order of events, not a time
  /// that a loaded host could miss: what waited for the pool would never happen.
  @Test func theConcurrencyPoolBeingBusyHoldsNothingUp() async throws {
    let folder = NSTemporaryDirectory() + "caravan-subprocess-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let pidFile = folder + "/pid"
    let busy = ProcessInfo.processInfo.activeProcessorCount + 1
    let poolFree = DispatchSemaphore(value: 0)
    // The first line is seen while the child still sleeps (0.3 s before its second), not at its end.
    let streamed = startThread { () -> (lines: [String], earlyBy: Double, status: Int32?) in
      usleep(200_000)  // the pool is full by then
      var seen: [String] = []
      var firstAt: Date?
      let status = try? Subprocess(["sh", "-c", "echo one; sleep 0.3; echo two"], timeout: 60).runStreamingLines {
        if firstAt == nil { firstAt = Date() }
        seen.append($1)
      }
      return (seen, Date().timeIntervalSince(firstAt ?? Date()), status)
    }
    // A child past its deadline is killed then (not after its 30 s), and is gone (or a zombie
    // not reaped yet) right after `run` returns.
    let stopped = startThread { () -> (seconds: Double, child: String) in
      usleep(200_000)
      let start = Date()
      _ = try? Subprocess(["sh", "-c", "echo $$ > \"$1\"; exec sleep 30", "sh", pidFile], timeout: 0.5).run()
      let seconds = Date().timeIntervalSince(start)
      guard let pid = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return (seconds, "no pid file") }
      let stat = "/proc/\(pid.trimmingCharacters(in: .whitespacesAndNewlines))/stat"
      return (seconds, (try? String(contentsOfFile: stat, encoding: .utf8)) ?? "gone")
    }
    // Frees the pool once both were seen.
    _ = startThread { () -> Bool in
      _ = streamed.wait()
      _ = stopped.wait()
      for _ in 0..<busy { poolFree.signal() }
      return true
    }
    // Every pool thread blocks until then (a minute at most: a sign that something waited for it).
    let heldTooLong = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<busy {
        group.addTask { poolFree.wait(timeout: .now() + 60) == .timedOut }
      }
      return await group.reduce(false) { $0 || $1 }
    }
    #expect(!heldTooLong, "something waited for the concurrency pool")
    let lines = try #require(try await onThread { streamed.wait() })
    #expect(lines.lines == ["one", "two"] && lines.status == 0, "\(lines)")
    #expect(lines.earlyBy >= 0.2, "the first line was seen only \(lines.earlyBy) s before the end")
    let kill = try #require(try await onThread { stopped.wait() })
    #expect(kill.seconds < 20, "killed at its deadline, not after its 30 s: \(kill.seconds) s")
    #expect(kill.child == "gone" || kill.child.contains(") Z "), "\(kill.child)")
  }

  @Test func aMissingProgramNamesItsDebianPackage() async throws {
    let error = await #expect(throws: CaravanError.self) {
      try await onThread { try Subprocess(["caravan-no-such-program", "x"]).run() }
    }
    #expect(error?.kind == .notFound)
    #expect(error?.message.hasPrefix("cannot run 'caravan-no-such-program': ") == true, "\(String(describing: error))")
    #expect(error?.hint == "Install it (Debian package: caravan-no-such-program).")

    // A program is looked for on the child's PATH.
    let ssh = await #expect(throws: CaravanError.self) {
      try await onThread { try Subprocess(["ssh-keygen", "-l"], environment: ["PATH": "/nonexistent"]).run() }
    }
    #expect(ssh?.message.hasPrefix("cannot run 'ssh-keygen': ") == true, "\(String(describing: ssh))")
    #expect(ssh?.hint == "Install it (Debian package: openssh-client).")
  }

  @Test func manyCallersAtOnceEachOnItsOwnThread() async throws {
    let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
      for index in 0..<16 {
        group.addTask {
          try await onThread { try Subprocess(["sh", "-c", "sleep 0.2; exit \(index)"], timeout: 30).run().status }
        }
      }
      var statuses: Set<Int32> = []
      for try await status in group { statuses.insert(status) }
      return statuses
    }
    #expect(statuses == Set(0..<16))
  }
}

/// How long `body` took (on this thread), and the error it threw.
func timed(_ body: () throws -> Subprocess.Result) -> (Double, CaravanError?) {
  let start = Date()
  do {
    _ = try body()
    return (Date().timeIntervalSince(start), nil)
  } catch {
    return (Date().timeIntervalSince(start), error as? CaravanError)
  }
}

/// A thread started at once, and what it returns.
final class ThreadResult<T: Sendable>: Sendable {
  let done = DispatchSemaphore(value: 0)
  /// Written before `done` is signalled.
  let value = Mutex<T?>(nil)

  func wait() -> T? {
    done.wait()
    done.signal()
    return value.withLock { $0 }
  }
}

func startThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> ThreadResult<T> {
  let result = ThreadResult<T>()
  Thread {
    let value = body()
    result.value.withLock { $0 = value }
    result.done.signal()
  }.start()
  return result
}
