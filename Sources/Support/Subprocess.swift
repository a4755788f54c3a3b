import Foundation

/// Runs a program (found on PATH) and waits for it on the calling thread.
/// Used for the OpenSSH client, ssh-keygen and host tools.
///
/// The child itself is spawned, fed and read by swift-subprocess (`ChildProcess`);
/// this is the synchronous facade the callers use: they run on ordinary threads
/// and block until the child is done, with its output handed to them as it comes.
public struct Subprocess {
  public enum Stream: Sendable { case stdout, stderr }

  public struct Result: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  public var arguments: [String]
  public var environment: [String: String]?
  /// Bytes written to the child's standard input, then it is closed; nil: /dev/null.
  public var input: Data?
  /// Kill the child after this many seconds.
  public var timeout: Double?
  /// The interrupts that stop the child (the process's Ctrl-C and SIGTERM; tests give their own).
  public var interrupt: Interrupt = .process

  public init(_ arguments: [String], environment: [String: String]? = nil, input: Data? = nil, timeout: Double? = nil) {
    self.arguments = arguments
    self.environment = environment
    self.input = input
    self.timeout = timeout
  }

  /// Runs and collects both outputs.
  public func run() throws -> Result {
    var out = Data()
    var err = Data()
    let status = try run { stream, data in
      if stream == .stdout { out.append(data) } else { err.append(data) }
    }
    return Result(
      status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
  }

  /// Runs and hands each complete line (without its newline) to `line`, as it comes.
  public func runStreamingLines(_ line: (Stream, String) -> Void) throws -> Int32 {
    var pending: [Stream: Data] = [.stdout: Data(), .stderr: Data()]
    let status = try run { stream, data in
      var buffer = pending[stream, default: Data()]
      buffer.append(data)
      while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        line(stream, String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
        buffer.removeSubrange(buffer.startIndex...newline)
      }
      pending[stream] = buffer
    }
    for stream in [Stream.stdout, .stderr] {
      if let rest = pending[stream], !rest.isEmpty {
        line(stream, String(decoding: rest, as: UTF8.self))
      }
    }
    return status
  }

  /// Runs with the child's output delivered in chunks, on the calling thread, in the
  /// order they were read. Returns the exit status, or 128+N when signal N ended
  /// the child (as a shell does). Past `timeout` the child is killed and this throws
  /// a `.timeout` error; on an interrupt (`Interrupt`) that comes while it runs, it
  /// is stopped with what it started (`ChildStop`) and this throws `.interrupted`.
  ///
  /// Why blocking here cannot deadlock: the child's task runs on `ChildExecutor`'s
  /// thread, not on the Swift concurrency pool, and never waits for this thread
  /// (handing over output only appends to `ChildEvents` under a lock), so the
  /// output, the child's end and the kill at the deadline all come through
  /// whatever the pool does. The one rule for callers: call from an ordinary thread
  /// (the `caravan` main thread, or a `Thread`), not from one of the pool. A child
  /// that closes its outputs and runs on is reported at the end of swift-subprocess's
  /// run, which needs the pool for a moment (see `ChildExecutor`): callers blocking
  /// all of its threads (2 on a 2-core host) could then wait for each other for
  /// ever. Tests, which Swift Testing runs on the pool, call from a `Thread` too.
  public func run(output: (Stream, Data) -> Void) throws -> Int32 {
    guard let program = arguments.first else {
      throw CaravanError(.internalError, "no program to run")
    }
    Subprocess.ignoreBrokenPipes()
    let events = ChildEvents()
    let child = ChildProcess(
      program: program, arguments: Array(arguments.dropFirst()), environment: environment, input: input)
    let task = Task.detached(executorPreference: ChildExecutor.shared) { await child.execute(reportingTo: events) }
    var stop = ChildStop(
      program: program, timeout: timeout, interrupt: interrupt, events: events, cancel: { task.cancel() })
    while true {
      switch events.next(until: stop.nextWake) {
      case .output(let chunks):
        for chunk in chunks { output(chunk.stream, chunk.data) }
      case .deadlinePassed:
        try stop.wake()
      case .finished(let outcome):
        return try stop.finished(outcome)
      }
    }
  }

  /// How long a stopped child's task may take to report its end.
  static let stopGrace = 2.0
  /// How long an interrupted child (and what it started) has after SIGTERM, before SIGKILL.
  static let termGrace = 3.0

  /// A child that exits without reading all its input must not kill us with
  /// SIGPIPE: writing to it then fails with EPIPE instead. (Children start with
  /// default signal handling; `execProgram` restores it for itself.)
  private static let brokenPipesIgnored: Bool = {
    signal(SIGPIPE, SIG_IGN)
    return true
  }()

  private static func ignoreBrokenPipes() {
    _ = brokenPipesIgnored
  }

  /// The error for a program that cannot be started, with the package to install.
  static func cannotRun(_ program: String, _ reason: String) -> CaravanError {
    CaravanError(
      .notFound, "cannot run '\(program)': \(reason)",
      hint: "Install it (Debian package: \(Subprocess.debianPackage(for: (program as NSString).lastPathComponent))).")
  }

  static func debianPackage(for program: String) -> String {
    switch program {
    case "ssh", "scp", "ssh-keygen", "sftp": return "openssh-client"
    case "qemu-img": return "qemu-utils"
    case "rsync": return "rsync"
    default: return program
    }
  }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer {
    for pointer in pointers { free(pointer) }
  }
  return body(pointers)
}

/// Replaces this process with `program` (for `caravan ssh`); returns only on failure.
/// Hand-written: no library can replace the current process.
public func execProgram(_ arguments: [String]) -> CaravanError {
  guard let program = arguments.first else {
    return CaravanError(.internalError, "no program to run")
  }
  fflush(nil)  // every output stream
  signal(SIGPIPE, SIG_DFL)  // an ignored signal would stay ignored in the new program
  _ = withCStrings(arguments) { argv in execvp(program, argv) }
  return Subprocess.cannotRun(program, String(cString: strerror(errno)))
}
