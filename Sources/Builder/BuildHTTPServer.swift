internal import FlyingFox
internal import FlyingSocks
import Foundation
import Support
import Synchronization

/// The build's HTTP server: the rendered templates and `http_dir` for the installer in the build
/// VM, on 127.0.0.1 (the guest reaches it through the user-mode network's gateway).
///
/// It serves GET and HEAD of the regular files under its roots (the first root holding a path
/// wins), with single byte ranges, streamed from the open file in chunks so a root file system
/// tarball of hundreds of MiB costs no more memory than a preseed file. It never serves a path
/// outside its roots: `.`/`..` segments (also percent-encoded) are refused with 403, as are
/// symbolic links that resolve outside the root; directories and anything else are 404. Every
/// request is logged through `log` as one line when it is answered: `GET /preseed.cfg 200 1532
/// bytes` (the request's path as sent, and the length of the response's body: 0 for HEAD).
public final class BuildHTTPServer: Sendable {
  public let roots: [String]
  /// The peers answered (loopback: the build guest's connections arrive through QEMU's
  /// user-mode network from 127.0.0.1); any other gets 403.
  public let allowedPeers: [PeerRange]
  private let requestedPort: UInt16
  private let log: @Sendable (String) -> Void
  private let state = Guarded(State.idle)

  private enum State {
    case idle
    case starting
    case running(server: HTTPServer, task: Task<Void, Never>, port: UInt16)
  }

  /// `roots` are folders; `port` 0 (the default) takes any free port.
  public init(
    roots: [String], port: UInt16 = 0, allowedPeers: [PeerRange] = [.loopback],
    log: @escaping @Sendable (String) -> Void
  ) {
    self.roots = roots
    self.allowedPeers = allowedPeers
    self.requestedPort = port
    self.log = log
  }

  /// Checks that the roots are folders, binds 127.0.0.1, starts serving, and returns the port
  /// bound. Throws if the server is already running (or starting).
  public func start() async throws -> UInt16 {
    try state.withLock { state in
      guard case .idle = state else {
        throw CaravanError(.internalError, "the build's HTTP server is already started")
      }
      state = .starting
    }
    do {
      let running = try await launch()
      state.withLock { $0 = .running(server: running.server, task: running.task, port: running.port) }
      return running.port
    } catch {
      state.withLock { $0 = .idle }
      throw error
    }
  }

  /// Closes the listening socket and every connection, ending transfers under way. Does nothing
  /// if the server is not running.
  public func stop() async {
    let running: (HTTPServer, Task<Void, Never>)? = state.withLock { state in
      guard case .running(let server, let task, _) = state else { return nil }
      state = .idle
      return (server, task)
    }
    guard let (server, task) = running else { return }
    await server.stop(timeout: 0)
    task.cancel()
    await task.value
  }

  private func launch() async throws -> (server: HTTPServer, task: Task<Void, Never>, port: UInt16) {
    let handler = FileRequestHandler(roots: try roots.map(Self.resolvedRoot), allowedPeers: allowedPeers, log: log)
    let address: sockaddr_in
    do {
      address = try .inet(ip4: "127.0.0.1", port: requestedPort)
    } catch {
      throw bindError(error)
    }
    let server = HTTPServer(address: address, timeout: 60, logger: .disabled, handler: handler)
    let listening = OneShot()
    let task = Task {
      do {
        try await server.run()
        listening.finish(.failure(SocketError.disconnected))
      } catch {
        listening.finish(.failure(error))
      }
    }
    let waiter = Task {
      do {
        try await server.waitUntilListening(timeout: 10)
        listening.finish(.success(()))
      } catch {
        listening.finish(.failure(error))
      }
    }
    do {
      try await listening.wait()
    } catch {
      waiter.cancel()
      await server.stop(timeout: 0)
      task.cancel()
      await task.value
      throw bindError(error)
    }
    guard case .ip4(_, let port)? = await server.listeningAddress else {
      await server.stop(timeout: 0)
      task.cancel()
      await task.value
      throw CaravanError(.internalError, "the build's HTTP server listens on 127.0.0.1 but has no port")
    }
    return (server, task, port)
  }

  /// The folder's real path (no symbolic links), which paths served must stay under.
  static func resolvedRoot(_ root: String) throws -> String {
    var info = stat()
    guard let real = realPath(root), stat(real, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      throw CaravanError(
        .notFound, "the build's HTTP server cannot serve '\(root)': it is not a folder",
        hint: "Check the path (a Boxfile's http_dir is relative to the Boxfile's folder).")
    }
    return real
  }

  private func bindError(_ error: any Error) -> CaravanError {
    let cause: String
    switch error {
    case SocketError.failed(let type, _, let message): cause = "\(type.lowercased()) failed: \(message)"
    case SocketError.timeout: cause = "it did not start listening within 10 seconds"
    default: cause = error.localizedDescription
    }
    let place = requestedPort == 0 ? "127.0.0.1 (on any free port)" : "127.0.0.1:\(requestedPort)"
    return CaravanError(
      .io, "the build's HTTP server cannot listen on \(place): \(cause)",
      hint: requestedPort == 0
        ? "Check that the loopback interface is up (`ip addr show lo`)."
        : "Another program may hold port \(requestedPort) (`ss -ltnp 'sport = :\(requestedPort)'`); stop it or use another port.",
      cause: error)
  }
}

/// `realpath(3)`: the absolute path without symbolic links, `.` or `..`; nil if it does not exist.
func realPath(_ path: String) -> String? {
  guard let resolved = realpath(path, nil) else { return nil }
  defer { free(resolved) }
  return String(cString: resolved)
}

/// The first of several outcomes, awaited once.
private final class OneShot: Sendable {
  private enum State {
    case pending(waiter: CheckedContinuation<Void, any Error>?)
    case finished(Result<Void, any Error>)
  }
  private let state = Guarded(State.pending(waiter: nil))

  /// Settles the outcome, if it is not settled yet.
  func finish(_ result: Result<Void, any Error>) {
    let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
      guard case .pending(let waiter) = state else { return nil }
      state = .finished(result)
      return waiter
    }
    waiter?.resume(with: result)
  }

  func wait() async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
      let finished = state.withLock { state -> Result<Void, any Error>? in
        switch state {
        case .pending:
          state = .pending(waiter: continuation)
          return nil
        case .finished(let result):
          return result
        }
      }
      if let finished { continuation.resume(with: finished) }
    }
  }
}
