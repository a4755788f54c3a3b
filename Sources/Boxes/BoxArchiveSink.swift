import Foundation
import Spec
import Support
import Synchronization

/// What a box archive's bytes go through as they arrive: hashed (when a
/// checksum is expected), then passed over a socket to a thread that unpacks
/// them with libarchive. A download is unpacked while it streams; nothing holds
/// more of the archive than the socket's buffer and libarchive's read-ahead.
public struct BoxArchiveSink {
  private let extraction: StreamingExtraction
  private let source: String
  private let checksum: Checksum?
  private var digest: StreamingDigest?

  public init(into target: String, source: String, checksum: Checksum?) {
    extraction = StreamingExtraction(target: target, source: source)
    self.source = source
    self.checksum = checksum
    digest = checksum.map { StreamingDigest($0.kind) }
  }

  /// Takes the next bytes of the archive; throws as soon as unpacking failed, or
  /// an interrupt came (Ctrl-C: the install stops, and what was unpacked goes).
  public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
    try Interrupt.process.check()
    digest?.update(bytes)
    try extraction.write(bytes)
  }

  /// Waits for the unpacking to end and checks it ended cleanly, then, last, the checksum.
  public mutating func finish() throws {
    try extraction.finish()
    if let checksum, var digest { try checksum.verify(digest.finalizeHex(), what: source) }
  }

  /// Stops unpacking and waits until nothing more is written (after a failure).
  public mutating func abandon() { extraction.abandon() }

  /// Feeds everything `produce` hands over, then finishes; abandons on any error.
  public mutating func consume(_ produce: (_ feed: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    do {
      try produce { try self.feed($0) }
      try finish()
    } catch {
      abandon()
      throw error
    }
  }
}

/// One archive unpacked on its own thread (libarchive reads block, so not on
/// the cooperative pool) from the read end of a socket pair whose write end
/// the producer fills. When unpacking fails the thread closes its end, so the
/// producer's next write fails with EPIPE and it throws the thread's error.
/// Writes use MSG_NOSIGNAL: no SIGPIPE, whatever the process's signal setup.
final class StreamingExtraction {
  private enum State {
    case notStarted
    /// Bytes go to `writeEnd`; `thread` unpacks them.
    case running(writeEnd: Int32, thread: UnpackThread)
    /// The archive ended (cleanly) before its last bytes arrived: they are only hashed.
    case archiveEnded
    /// The thread has been joined with this outcome.
    case ended(Result<Void, Error>)
  }

  private let target: String
  private let source: String
  private var state = State.notStarted

  init(target: String, source: String) {
    self.target = target
    self.source = source
  }

  deinit { abandon() }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    if case .notStarted = state { try start() }
    switch state {
    case .notStarted, .archiveEnded: return
    case .ended(let outcome): try outcome.get()
    case .running(let writeEnd, let thread):
      guard let base = bytes.baseAddress else { return }
      var sent = 0
      while sent < bytes.count {
        let n = send(writeEnd, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
        if n >= 0 {
          sent += n
          continue
        }
        let code = errno
        if code == EINTR { continue }
        close(writeEnd)
        let outcome = code == EPIPE || code == ECONNRESET ? thread.join() : .failure(failure(code, thread: thread))
        if case .success = outcome {
          state = .archiveEnded
          return
        }
        state = .ended(outcome)
        try outcome.get()
      }
    }
  }

  /// Signals the end of the input and returns once the thread is done, throwing its error.
  func finish() throws {
    if case .notStarted = state { try start() }
    switch state {
    case .notStarted: return
    case .archiveEnded: state = .ended(.success(()))
    case .ended(let outcome): try outcome.get()
    case .running(let writeEnd, let thread):
      close(writeEnd)
      let outcome = thread.join()
      state = .ended(outcome)
      try outcome.get()
    }
  }

  /// Ends the input early and waits for the thread, so no file is written after this returns.
  func abandon() {
    if case .running(let writeEnd, let thread) = state {
      close(writeEnd)
      _ = thread.join()
    }
    if case .ended = state { return }
    state = .ended(.failure(CaravanError(.internalError, "unpacking '\(source)' was abandoned")))
  }

  private func start() throws {
    var fds: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
      throw CaravanError(
        .io, "cannot start unpacking '\(source)': \(String(cString: strerror(errno)))",
        hint: "The process may be out of file descriptors.")
    }
    let thread = UnpackThread(readEnd: fds[1], extractor: ArchiveExtractor(target: target, archive: source))
    thread.start()
    state = .running(writeEnd: fds[0], thread: thread)
  }

  /// A write that failed other than by the thread closing its end: still wait
  /// for the thread (it sees the end of its input) before reporting.
  private func failure(_ code: Int32, thread: UnpackThread) -> Error {
    _ = thread.join()
    return CaravanError(.io, "cannot pass '\(source)' to the unpacking thread: \(String(cString: strerror(code)))")
  }
}

/// The thread that runs libarchive on the read end of the socket pair.
final class UnpackThread: Sendable {
  private let readEnd: Int32
  private let extractor: ArchiveExtractor
  private let done = DispatchSemaphore(value: 0)
  /// Set by the thread before it signals `done`.
  private let outcome = Mutex<Result<Void, Error>>(.success(()))

  init(readEnd: Int32, extractor: ArchiveExtractor) {
    self.readEnd = readEnd
    self.extractor = extractor
  }

  func start() {
    let thread = Thread { [self] in run() }
    thread.name = "caravan-unpack"
    thread.start()
  }

  private func run() {
    let result = Result {
      let reader = try ArchiveReader(fd: readEnd, source: extractor.archive)
      try extractor.extract(from: reader)
    }
    outcome.withLock { $0 = result }
    // The reader is gone; closing our end makes the producer's next write fail with EPIPE.
    close(readEnd)
    done.signal()
  }

  /// Waits for the thread to end and returns how unpacking went (as often as asked).
  func join() -> Result<Void, Error> {
    done.wait()
    done.signal()
    return outcome.withLock { $0 }
  }
}
