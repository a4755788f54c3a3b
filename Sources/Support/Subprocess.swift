import Foundation

/// Runs a program (found on PATH) and waits for it on the calling thread.
/// Used for the OpenSSH client, ssh-keygen and host tools.
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
    return Result(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
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
    for (stream, rest) in pending where !rest.isEmpty {
      line(stream, String(decoding: rest, as: UTF8.self))
    }
    return status
  }

  /// Runs with the child's output delivered in chunks.
  public func run(output: (Stream, Data) -> Void) throws -> Int32 {
    guard let program = arguments.first else {
      throw CaravanError(.internalError, "no program to run")
    }
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    var inPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else {
      throw CaravanError(.io, "cannot create pipes to run '\(program)': \(String(cString: strerror(errno)))")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1], errPipe[0], errPipe[1]] {
      posix_spawn_file_actions_addclose(&actions, fd)
    }
    let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let spawnResult = withCStrings(arguments) { argv in
      withCStrings(env) { envp in posix_spawnp(&pid, program, &actions, nil, argv, envp) }
    }
    close(inPipe[0])
    close(outPipe[1])
    close(errPipe[1])
    guard spawnResult == 0 else {
      close(inPipe[1])
      close(outPipe[0])
      close(errPipe[0])
      throw CaravanError(.notFound, "cannot run '\(program)': \(String(cString: strerror(spawnResult)))",
        hint: "Install it (Debian package: \(Subprocess.debianPackage(for: program))).")
    }
    // Standard input is written from a thread so a large input cannot deadlock with our reads.
    let inputFD = inPipe[1]
    if let input, !input.isEmpty {
      Thread {
        signal(SIGPIPE, SIG_IGN)
        input.withUnsafeBytes { buffer in
          var offset = 0
          while offset < buffer.count {
            let n = write(inputFD, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
            if n <= 0 { break }
            offset += n
          }
        }
        close(inputFD)
      }.start()
    } else {
      close(inputFD)
    }
    let deadline = timeout.map { Date().addingTimeInterval($0) }
    var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
    var open = 2
    var buffer = [UInt8](repeating: 0, count: 65536)
    var killed = false
    while open > 0 {
      let ready = poll(&fds, nfds_t(fds.count), 200)
      if ready < 0 && errno != EINTR { break }
      for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
        let n = read(fds[i].fd, &buffer, buffer.count)
        if n > 0 {
          output(i == 0 ? .stdout : .stderr, Data(buffer[0..<n]))
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
          close(fds[i].fd)
          fds[i].fd = -1
          open -= 1
        }
      }
      if let deadline, !killed, Date() > deadline {
        kill(pid, SIGKILL)
        killed = true
      }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    if killed {
      throw CaravanError(.timeout, "'\(program)' did not finish within \(Int(timeout ?? 0)) s and was stopped")
    }
    // WIFEXITED / WEXITSTATUS, WTERMSIG as 128+N like a shell.
    if status & 0x7f == 0 { return (status >> 8) & 0xff }
    return 128 + (status & 0x7f)
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
  defer { pointers.forEach { free($0) } }
  return body(pointers)
}

/// Replaces this process with `program` (for `caravan ssh`); returns only on failure.
public func execProgram(_ arguments: [String]) -> CaravanError {
  fflush(nil)  // every output stream
  _ = withCStrings(arguments) { argv in execvp(arguments[0], argv) }
  return CaravanError(.notFound, "cannot run '\(arguments[0])': \(String(cString: strerror(errno)))",
    hint: "Install it (Debian package: \(Subprocess.debianPackage(for: arguments[0]))).")
}
