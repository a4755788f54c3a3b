// `caravan init --from Vagrantfile`: find the Vagrantfile, evaluate it with the host's
// Ruby under the recorder (its folder as the working directory, a deadline, what it
// starts killed with it), translate the recording, and write the Machinefile beside it.

import Foundation
import Support

/// Evaluates Vagrantfiles and writes Machinefiles from them.
public struct VagrantImporter: Sendable {
  /// The Ruby to run (a name on PATH or a path).
  public var ruby: String
  /// How long the Vagrantfile may take to evaluate, in seconds.
  public var timeout: Double
  /// The environment the Vagrantfile sees (its ENV) and the Machinefile is checked with.
  public var environment: [String: String]

  public init(
    ruby: String = "ruby", timeout: Double = 30, environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.ruby = ruby
    self.timeout = timeout
    self.environment = environment
  }

  /// The Vagrantfile `path` names: the file, or `Vagrantfile` in the folder (nil: the current one).
  public static func vagrantfile(_ path: String?, cwd: String) throws -> String {
    var resolved = FileSystem.resolve(path ?? ".", relativeTo: cwd)
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder), isFolder.boolValue {
      resolved += "/Vagrantfile"
    }
    guard FileManager.default.isReadableFile(atPath: resolved) else {
      throw CaravanError(
        .notFound, "no Vagrantfile at '\(resolved)'",
        hint: "Name the Vagrantfile or its folder: `caravan init --from Vagrantfile PATH`.")
    }
    return resolved
  }

  /// Writes the Machinefile beside `vagrantfile` (refused if there is one, unless `force`)
  /// and returns its path and the report. Nothing is written when the Vagrantfile cannot
  /// be evaluated.
  public func importVagrantfile(_ vagrantfile: String, force: Bool) throws -> (path: String, result: ImportResult) {
    let path = (vagrantfile as NSString).deletingLastPathComponent + "/Machinefile"
    if FileSystem.exists(path) && !force {
      throw CaravanError(
        .conflict, "'\(path)' already exists",
        hint: "Run `caravan init --from Vagrantfile --force` to overwrite it.")
    }
    let result = try translate(vagrantfile)
    try FileSystem.writeAtomically(Data(result.machinefile.utf8), to: path, mode: 0o644)
    return (path, result)
  }

  /// The Machinefile and report for `vagrantfile` (an absolute path), written nowhere.
  public func translate(_ vagrantfile: String) throws -> ImportResult {
    let recording = try evaluate(vagrantfile)
    return try VagrantTranslation.translate(
      recordingJSON: recording, fileName: (vagrantfile as NSString).lastPathComponent, environment: environment)
  }

  /// Runs the recorder on `vagrantfile`: the JSON document it wrote.
  func evaluate(_ vagrantfile: String) throws -> Data {
    let folder = try FileSystem.makeTemporaryDirectory(prefix: "caravan-vagrant", environment: environment)
    defer { try? FileSystem.removeTree(folder) }
    let script = folder + "/recorder.rb"
    let output = folder + "/recording.json"
    try FileSystem.writeAtomically(Data(RecorderScript.source.utf8), to: script)
    let result: Subprocess.Result
    do {
      result = try Subprocess([ruby, script, vagrantfile, output], environment: environment, timeout: timeout).run()
    } catch let error as CaravanError where error.kind == .timeout {
      throw CaravanError(
        .timeout,
        "evaluating '\(vagrantfile)' took longer than \(Self.seconds(timeout)) and was stopped (a loop that never ends, or a command that waits?)",
        hint: "Fix the Vagrantfile so that `ruby` finishes reading it; nothing was written.", cause: error)
    } catch let error as CaravanError where error.kind == .notFound {
      throw CaravanError(
        .notFound, "cannot run '\(ruby)' to evaluate the Vagrantfile: \(error.message)",
        hint:
          "Install Ruby (Debian package: ruby, `sudo apt-get install ruby`): Caravan reads a Vagrantfile by running its Ruby, as vagrant does; Vagrant itself is not needed.",
        cause: error)
    }
    guard let data = FileManager.default.contents(atPath: output) else {
      let said = result.stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
      throw CaravanError(
        .invalidInput,
        "'\(ruby)' stopped before it finished evaluating '\(vagrantfile)' (exit status \(result.status))"
          + (said.isEmpty ? "" : ":\n" + said),
        hint: "Run `ruby \(vagrantfile)` to see why; nothing was written.")
    }
    return data
  }

  static func seconds(_ value: Double) -> String {
    value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
  }
}
