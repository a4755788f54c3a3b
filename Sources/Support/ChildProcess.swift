import Foundation
internal import Subprocess

/// One child process, spawned, fed and read by swift-subprocess. Its output goes
/// to `ChildEvents` as it is read, and its end (or why it could not start) too.
/// `program` is looked for on the child's PATH unless it is a path; `arguments` follow it.
struct ChildProcess: Sendable {
  var program: String
  var arguments: [String]
  var environment: [String: String]?
  var input: Data?

  func execute(reportingTo events: ChildEvents) async {
    do {
      events.finish(.success(try await spawn(reportingTo: events)))
    } catch let error as SubprocessError where error.code == .executableNotFound {
      events.finish(.failure(Subprocess.cannotRun(program, "no such program on PATH, or it is not executable")))
    } catch let error as SubprocessError where error.code == .spawnFailed {
      events.finish(.failure(Subprocess.cannotRun(program, "\(error)")))
    } catch {
      events.finish(.failure(CaravanError(.io, "running '\(program)' failed: \(error)", cause: error)))
    }
  }

  private func spawn(reportingTo events: ChildEvents) async throws -> Int32 {
    // argv[0] is the name as given, as a shell would pass it.
    let configuration = Configuration(
      executable: executable, arguments: Arguments(executablePathOverride: program, remainingValues: arguments),
      environment: childEnvironment)
    let status: TerminationStatus
    if let input, !input.isEmpty {
      status = try await run(configuration, input: InputBytes(data: input), output: .sequence, error: .sequence) {
        try await ChildProcess.forward($0, to: events)
      }.terminationStatus
    } else {
      status = try await run(configuration, input: .none, output: .sequence, error: .sequence) {
        try await ChildProcess.forward($0, to: events)
      }.terminationStatus
    }
    switch status {
    case .exited(let code): return code
    case .signaled(let signal): return 128 + signal
    }
  }

  /// A name is looked for on PATH; a path (with a `/`) is run as it is, as a shell does.
  private var executable: Executable {
    program.contains("/") ? .path(.init(program)) : .name(program)
  }

  private var childEnvironment: Environment {
    guard let environment else { return .inherit }
    var values: [Environment.Key: String] = [:]
    for (key, value) in environment {
      if let key = Environment.Key(rawValue: key) { values[key] = value }
    }
    return .custom(values)
  }

  /// Reads both outputs at once and hands each chunk over as soon as it is read;
  /// then, when the child has ended (its outputs close as it exits), hands over its
  /// status at once, without waiting for swift-subprocess to wind the run up (that
  /// needs the concurrency pool; see `ChildExecutor`).
  private static func forward<Input: InputProtocol>(
    _ execution: Execution<Input, SequenceOutput, SequenceOutput>, to events: ChildEvents
  ) async throws {
    let pid = execution.processIdentifier.value
    events.startedReading(from: pid)
    defer { events.stoppedReading() }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        for try await buffer in execution.standardOutput {
          events.deliver(.stdout, buffer.withUnsafeBytes { Data($0) })
        }
      }
      group.addTask {
        for try await buffer in execution.standardError {
          events.deliver(.stderr, buffer.withUnsafeBytes { Data($0) })
        }
      }
      try await group.waitForAll()
    }
    if let status = endedStatus(of: pid) { events.finish(.success(status)) }
  }

  /// The status of the child if it has ended (128+N for signal N), read without
  /// reaping it: swift-subprocess reaps it only after the body returns, so until
  /// then `pid` is surely this child. Its outputs close a moment before it can be
  /// waited for, so this looks for 5 ms at most; nil when it still runs.
  private static func endedStatus(of pid: pid_t) -> Int32? {
    for _ in 0..<50 {
      var info = siginfo_t()
      if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
        let value = info._sifields._sigchld.si_status
        return info.si_code == CLD_EXITED ? value : 128 + value
      }
      usleep(100)
    }
    return nil
  }
}

/// Standard input for the child, written by a task of swift-subprocess's own while
/// the outputs are read, so a large input cannot deadlock with a child that writes
/// before it reads. A child that exits or closes its input without reading all of
/// it ends the writing (EPIPE, or cancellation once it is gone): that is not an
/// error of ours, its exit status says how it went. (swift-subprocess's own
/// `.data` input rethrows that error, and 1.0.2 then stops the process on a
/// descriptor it did not close: "FileDescriptor … was not closed".)
private struct InputBytes: InputProtocol {
  var data: Data

  func write(with writer: StandardInputWriter) async throws {
    _ = try? await writer.write(data)
  }
}
