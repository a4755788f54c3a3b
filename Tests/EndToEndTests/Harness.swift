import Foundation
import TestSupport

/// Runs the real `caravan` binary (CARAVAN_BIN) in a project folder with a
/// throw-away CARAVAN_HOME, and `virsh` against the same libvirt.
struct Harness {
  static let binary = ProcessInfo.processInfo.environment["CARAVAN_BIN"] ?? ""
  static let boxFile = ProcessInfo.processInfo.environment["CARAVAN_E2E_BOX"] ?? ""
  static var enabled: Bool { !binary.isEmpty && !boxFile.isEmpty }
  static let uri = "qemu:///system"

  /// The CARAVAN_HOME that `make test` prepares once (scripts/warm-home.sh): the test box
  /// added, with its saved state for 1 CPU and 768 MiB. Suites whose subject is not booting
  /// start their guests from it; unset, they add the box to their own home and boot cold.
  static let warmHome: String? = ProcessInfo.processInfo.environment["CARAVAN_E2E_WARM_HOME"].flatMap {
    $0.isEmpty ? nil : $0
  }

  let root: String
  let home: String
  /// This harness uses the shared warm home: the box is there already, `up` restores.
  let warm: Bool

  init(name: String, warm wantsWarm: Bool = false) throws {
    root = NSTemporaryDirectory() + "caravan-e2e-\(name)-\(getpid())"
    if wantsWarm, let shared = Harness.warmHome {
      home = shared
      warm = true
    } else {
      home = root + "/home"
      warm = false
    }
    try? FileManager.default.removeItem(atPath: root)
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  /// Adds the test box as `caravan/debian-12` to this harness's home; the shared warm home
  /// has it already (and is never removed from: see `removeTestBox`).
  func addTestBox() throws -> Output {
    if warm { return Output(status: 0, stdout: "", stderr: "") }
    return try caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: root)
  }

  func removeTestBox() {
    if !warm { _ = try? caravan("box", "remove", "caravan/debian-12", "--force", in: root) }
  }

  /// `caravan up ARGS`, restored from the box's saved state when this harness is warm (a
  /// state that does not fit this host makes `up` say so and boot cold, never fail).
  func up(_ args: String..., in directory: String) throws -> Output {
    try run([Harness.binary] + upCommand + args, in: directory)
  }

  /// `up`'s arguments, with `--warm` when this harness is warm (for `spawn` and the like).
  var upCommand: [String] { warm ? ["up", "--warm"] : ["up"] }

  struct Output: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
  }

  @discardableResult
  func run(_ args: [String], in directory: String? = nil, environment extra: [String: String] = [:]) throws -> Output {
    try Harness.exec(args, in: directory ?? root, environment: environment(extra))
  }

  func caravan(_ args: String..., in directory: String, environment: [String: String] = [:]) throws -> Output {
    try run([Harness.binary] + args, in: directory, environment: environment)
  }

  /// The environment caravan runs with: this test's CARAVAN_HOME, no outbound
  /// network for guests, the system libvirt.
  func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["CARAVAN_HOME"] = home
    environment["CARAVAN_NAT_RESTRICT"] = "1"
    environment["CARAVAN_LIBVIRT_URI"] = Harness.uri
    // The test servers are on loopback: never through a proxy the host may have set.
    environment["no_proxy"] = "127.0.0.1,localhost"
    for (key, value) in extra { environment[key] = value }
    return environment
  }

  /// Starts caravan without waiting, its output going to `log` (so that a
  /// process killed half way cannot block on a full pipe).
  func spawn(_ args: [String], in directory: String, log: String, environment extra: [String: String] = [:]) throws
    -> Process
  {
    FileManager.default.createFile(atPath: log, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Harness.binary)
    process.arguments = args
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = environment(extra)
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try output.close()
    return process
  }

  static func virsh(_ args: String...) throws -> Output {
    try exec(["virsh", "-c", uri] + args, in: "/", environment: ProcessInfo.processInfo.environment)
  }

  static func exec(_ args: [String], in directory: String, environment: [String: String]) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = args
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errData = Locked(Data())
    let group = DispatchGroup()
    group.enter()
    // A thread of its own: a reader on `DispatchQueue.global()` takes a thread of the
    // pool the tests' tasks run on (see OwnThreadExecutor).
    Thread {
      let data = err.fileHandleForReading.readDataToEndOfFile()
      errData.withLock { $0 = data }
      group.leave()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData.current, as: UTF8.self))
  }

  func write(_ text: String, to relative: String) throws {
    let path = root + "/" + relative
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  func cleanUp() {
    try? FileManager.default.removeItem(atPath: root)
  }
}
