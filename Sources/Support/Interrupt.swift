import Foundation
import Synchronization

/// Ctrl-C (SIGINT) and SIGTERM. The first one asks the command to stop at its
/// next safe point: the engine checks before each step (never between a step
/// and its record), waits look every `pollInterval`, and a running child is
/// stopped (`Subprocess`); the command then says what it left and exits 130.
/// The second one ends the process at once, also with 130.
///
/// Children stay in Caravan's process group, as in a shell: the terminal's
/// Ctrl-C reaches them too (ssh, rsync, an installer end at once), and a host
/// command that asks for a password on the terminal still can. A SIGTERM sent to
/// Caravan alone reaches no child: `Subprocess` stops what still runs, with its
/// descendants, and reaps it before the command goes on to stop.
public final class Interrupt: Sendable {
  /// The process's own: what the signal handlers count.
  public static let process = Interrupt()

  fileprivate let signals = Atomic<Int>(0)

  /// A separate one (tests), which only `request()` sets.
  public init() {}

  /// How many interrupts came; 0 while none did.
  public var count: Int { signals.load(ordering: .sequentiallyConsistent) }
  public var requested: Bool { count > 0 }

  /// What the first signal does; for tests, and for code that stops itself the same way.
  public func request() {
    signals.wrappingAdd(1, ordering: .sequentiallyConsistent)
  }

  /// Forgets the interrupts: for `rsync-auto`, whose normal end is Ctrl-C.
  public func clear() {
    signals.store(0, ordering: .sequentiallyConsistent)
  }

  /// A safe point: throws `.interrupted` when an interrupt came.
  public func check() throws {
    if requested { throw Interrupt.stopped() }
  }

  /// Sleeps `seconds`, looking every `pollInterval`; throws `.interrupted` as soon as one came.
  public func sleep(_ seconds: Double) throws {
    let end = Date().addingTimeInterval(seconds)
    while true {
      try check()
      let left = end.timeIntervalSinceNow
      if left <= 0 { return }
      Thread.sleep(forTimeInterval: min(left, Interrupt.pollInterval))
    }
  }

  /// How often waits look for an interrupt.
  public static let pollInterval = 0.1
  /// What an interrupted command exits with (128 + SIGINT), for SIGTERM as well.
  public static let exitStatus: Int32 = 130

  /// The error a stopped wait or child throws; the engine replaces it with what was left.
  public static func stopped(_ message: String = "interrupted") -> CaravanError {
    CaravanError(.interrupted, message)
  }
}

// MARK: The handlers

extension Interrupt {
  /// Catches SIGINT and SIGTERM for `Interrupt.process` from now on (and unblocks them
  /// on this thread: a test runner's threads may block SIGTERM, and children inherit
  /// that). Call once, early, from the main thread.
  public static func installHandlers() {
    SignalNotices.prepare()
    _ = process.count
    RunningChildren.prepare()
    SecondSignal.prepare()
    var action = sigaction()
    action.__sigaction_handler = .init(sa_handler: onInterruptSignal)
    // System calls a signal lands in go on; waits see the flag within `pollInterval`.
    action.sa_flags = SA_RESTART
    sigemptyset(&action.sa_mask)
    sigaction(SIGINT, &action, nil)
    sigaction(SIGTERM, &action, nil)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Runs `body` with Ctrl-C (and Ctrl-\) left to a child that has the terminal
  /// (`caravan ssh` with after triggers): Caravan only waits. A caught signal is
  /// reset to the default in the child; an ignored one would not be.
  public static func leavingTerminalSignalsToChild<T>(_ body: () throws -> T) rethrows -> T {
    signal(SIGINT) { _ in }
    signal(SIGQUIT) { _ in }
    defer {
      signal(SIGQUIT, SIG_DFL)
      installHandlers()
    }
    return try body()
  }
}

/// The handler: only what is safe in one (an atomic add, write(2), kill(2), _exit).
private func onInterruptSignal(_ number: Int32) {
  let saved = errno
  defer { errno = saved }
  let before = Interrupt.process.signals.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
  if before == 0 {
    SignalNotices.write(SignalNotices.first)
    return
  }
  SignalNotices.write(SignalNotices.second)
  SecondSignal.stopAtOnce()
}

/// What the second signal does: SIGKILL to every running child and to every process
/// below it, then exit 130. Only a thread may find what is below a child (it reads
/// /proc), so the handler wakes `SecondSignal`'s thread through a pipe, and kills the
/// children it knows itself only if that thread has not ended the process within a
/// second (SIGALRM). The children's own children matter: a host trigger's `sh -c`
/// whose `sleep` started after the first signal's stop looked (on a busy host) was
/// left running when only the `sh` was killed.
enum SecondSignal {
  /// The pipe's ends (-1 until `prepare`): atomics, which the handler may read.
  static let readEnd = Atomic<Int32>(-1)
  static let writeEnd = Atomic<Int32>(-1)

  /// The pipe and its thread, once (before the handlers are installed).
  static func prepare() {
    guard writeEnd.load(ordering: .sequentiallyConsistent) < 0 else { return }
    var ends: [Int32] = [-1, -1]
    guard Glibc.pipe(&ends) == 0 else { return }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    readEnd.store(ends[0], ordering: .sequentiallyConsistent)
    writeEnd.store(ends[1], ordering: .sequentiallyConsistent)
    var alarm = sigaction()
    alarm.__sigaction_handler = .init(sa_handler: onAlarm)
    sigemptyset(&alarm.sa_mask)
    sigaction(SIGALRM, &alarm, nil)
    let thread = Thread {
      var byte: UInt8 = 0
      while Glibc.read(readEnd.load(ordering: .sequentiallyConsistent), &byte, 1) < 0 && errno == EINTR {}
      RunningChildren.killTrees()
      _exit(Interrupt.exitStatus)
    }
    thread.name = "caravan-second-signal"
    thread.start()
  }

  /// From the handler: only write(2), alarm(2), kill(2) and _exit.
  static func stopAtOnce() {
    var byte: UInt8 = 1
    let pipe = writeEnd.load(ordering: .sequentiallyConsistent)
    if pipe >= 0 && Glibc.write(pipe, &byte, 1) == 1 {
      Glibc.alarm(1)
      return
    }
    RunningChildren.killAll()
    _exit(Interrupt.exitStatus)
  }
}

private func onAlarm(_ number: Int32) {
  guard Interrupt.process.count >= 2 else { return }
  RunningChildren.killAll()
  _exit(Interrupt.exitStatus)
}

/// The handler's two notices: literals in the binary, so the handler needs no allocation.
private enum SignalNotices {
  static let first: StaticString =
    "\ncaravan: interrupted; stopping at the next safe point (Ctrl-C again stops at once)\n"
  static let second: StaticString = "\ncaravan: interrupted again; stopping at once\n"

  /// Makes both before the handler is installed.
  static func prepare() {
    _ = first.utf8CodeUnitCount
    _ = second.utf8CodeUnitCount
  }

  static func write(_ notice: StaticString) {
    _ = Glibc.write(STDERR_FILENO, notice.utf8Start, notice.utf8CodeUnitCount)
  }
}

/// The pids of the children running now, for the second signal's handler, which
/// may only read memory and call kill(2). The slots are lock-free atomics (0: free),
/// taken with a compare-and-exchange and read whole by the handler.
enum RunningChildren {
  static var capacity: Int { slots.count }
  static let slots = InlineArray<256, Atomic<pid_t>> { _ in Atomic(0) }

  /// Makes the slots (before the handler may read them).
  static func prepare() { _ = slots[0].load(ordering: .sequentiallyConsistent) }

  /// Notes a child; returns its slot (nil when all are taken: it is then only not killed by a second signal).
  static func add(_ pid: pid_t) -> Int? {
    (0..<capacity).first { slot in
      slots[slot].compareExchange(expected: 0, desired: pid, ordering: .sequentiallyConsistent).exchanged
    }
  }

  static func contains(_ pid: pid_t) -> Bool {
    (0..<capacity).contains { occupant(of: $0) == pid }
  }

  static func remove(_ slot: Int) {
    slots[slot].store(0, ordering: .sequentiallyConsistent)
  }

  static func occupant(of slot: Int) -> pid_t { slots[slot].load(ordering: .sequentiallyConsistent) }

  static func killAll() {
    for slot in 0..<capacity {
      let child = occupant(of: slot)
      if child > 0 { kill(child, SIGKILL) }
    }
  }

  /// SIGKILL to each child and to every process below it (found before any is killed,
  /// so none is handed to init first). Not for a signal handler: it reads /proc.
  static func killTrees() {
    let children = (0..<capacity).map(occupant(of:)).filter { $0 > 0 }
    let below = children.flatMap { ProcessTree.descendants(of: $0) }
    for pid in children + below { kill(pid, SIGKILL) }
  }
}

/// Processes below a child: what it started, and what those started.
enum ProcessTree {
  /// The descendants of `pid`, read from /proc (best effort: empty where /proc is not there).
  static func descendants(of pid: pid_t) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var children: [pid_t: [pid_t]] = [:]
    for entry in entries {
      guard let child = pid_t(entry), let parent = parent(of: child) else { continue }
      children[parent, default: []].append(child)
    }
    var found: [pid_t] = []
    var queue = children[pid] ?? []
    while let next = queue.popLast() {
      found.append(next)
      queue += children[next] ?? []
    }
    return found
  }

  /// Whether `pid` runs (exists and is not a zombie waiting to be reaped).
  static func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
  }

  /// The parent pid in /proc/PID/stat: the field after the state, after the name's last ')'.
  static func parent(of pid: pid_t) -> pid_t? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? pid_t(fields[1]) : nil
  }
}
