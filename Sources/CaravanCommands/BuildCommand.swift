import ArgumentParser
import Builder
import Foundation
import Host
import Machinefile
import Support

struct BuildCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Build a base box from a Boxfile (installer, iso or rootfs strategy).",
    discussion: """
      DIR is a folder holding a Boxfile (e.g. boxes/debian-12), or FILE the Boxfile itself. The box is written \
      where the Boxfile's `output` says, with a catalog entry when it names `catalog:`; `caravan box add` takes \
      either.
      """)

  @Argument(help: "The Boxfile, or the folder that holds it.") var path: String
  @Option(
    name: .customLong("var"), parsing: .singleValue,
    help: ArgumentHelp("Set a Boxfile `var` (repeatable).", valueName: "NAME=VALUE"))
  var variables: [String] = []
  @Option(
    name: .customLong("on-error"),
    help: "abort: remove everything the build made (default); keep: leave the build VM and files for inspection.")
  var onError: String = "abort"
  @Flag(help: "Replace an existing output box file.") var force = false

  func validate() throws {
    guard BuildOptions.OnError(rawValue: onError) != nil else {
      throw ValidationError("--on-error takes abort or keep, not '\(onError)'")
    }
    for pair in variables where !pair.contains("=") {
      throw ValidationError("--var takes NAME=VALUE, got '\(pair)'; e.g. --var mirror=http://deb.debian.org/debian")
    }
  }

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let file = try Boxfile.find(at: path)
    var given: [String: String] = [:]
    for pair in variables {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      given[String(parts[0])] = String(parts[1])
    }
    let cwd = FileManager.default.currentDirectoryPath
    let shown = Machinefile.displayName(of: file, from: cwd)
    let spec = try Boxfile.load(path: file, shownAs: shown, variables: given, environment: environment)
    // Templates are checked before anything starts: a build that would fail rendering them never begins.
    let problems = TemplateCheck.diagnostics(of: spec) { Machinefile.displayName(of: $0, from: cwd) }
    if !problems.isEmpty { throw MachinefileError(diagnostics: problems) }
    var options = BuildOptions(
      cacheDirectory: CaravanPaths.home(environment: environment) + "/cache/build",
      uri: defaultLibvirtURI(configured: nil, environment: environment),
      lockDirectory: CaravanPaths.home(environment: environment) + "/locks")
    options.onError = BuildOptions.OnError(rawValue: onError) ?? .abort
    options.force = force
    _ = try BoxBuild(spec: spec, options: options) { port in
      try Boxfile.load(path: file, shownAs: shown, variables: given, environment: environment, httpPort: port)
    }.run()
  }
}
