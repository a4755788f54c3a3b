// The public entry points for Boxfiles: find and load one for `caravan build`, check one for
// `caravan validate`, and tell a Boxfile from a Machinefile.

import Foundation
import Spec
import Support

public enum Boxfile {
  /// Where a build guest reaches the build's HTTP server (QEMU user networking's host).
  public static let guestHostAddress = "10.0.2.2"

  /// Parse, validate and lower. `variables` are `--var` values; `httpPort` the build's
  /// HTTP server port (0 while it is not known, e.g. for `validate`).
  public static func load(
    path: String, shownAs: String? = nil, variables: [String: String], environment: [String: String],
    httpPort: Int = 0
  ) throws -> BuildSpec {
    let (spec, diagnostics) = try check(
      path: path, shownAs: shownAs, variables: variables, environment: environment, httpPort: httpPort)
    guard let spec else { throw MachinefileError(diagnostics: diagnostics) }
    return spec
  }

  public static func check(
    path: String, shownAs: String? = nil, variables: [String: String], environment: [String: String],
    httpPort: Int = 0
  ) throws -> (spec: BuildSpec?, diagnostics: [Diagnostic]) {
    let absolute = FileSystem.absolute(path)
    let source = try Machinefile.read(absolute, shownAs: shownAs ?? path, what: "Boxfile")
    return check(
      source: source, path: absolute, shownAs: shownAs ?? path, variables: variables, environment: environment,
      httpPort: httpPort)
  }

  public static func check(
    source: String, path: String, shownAs: String, variables: [String: String], environment: [String: String],
    httpPort: Int = 0
  ) -> (spec: BuildSpec?, diagnostics: [Diagnostic]) {
    let (parsed, lines, failure) = Machinefile.parse(source: source, fileName: shownAs)
    guard let file = parsed else { return (nil, failure) }
    let values = Validator.variables(of: file, given: variables, environment: environment)
    var merged = environment.merging(values) { _, own in own }
    merged["http_ip"] = guestHostAddress
    merged["http_port"] = String(httpPort)
    if let version = declaredVersion(file, environment: merged) { merged["version"] = version }
    let directory = (path as NSString).deletingLastPathComponent
    let validator = Validator(fileName: shownAs, lines: lines, environment: merged, directory: directory)
    let spec = validator.validateBoxfile(file, path: path, directory: directory, variables: values)
    return (validator.hasErrors ? nil : spec, validator.diagnostics)
  }

  /// `boxes/NAME` → `boxes/NAME/Boxfile`; a file as given.
  public static func find(at path: String) throws -> String {
    let absolute = FileSystem.absolute(path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
      throw CaravanError(
        .notFound, "no Boxfile at '\(path)'", hint: "Give a folder holding a Boxfile (boxes/NAME) or the file itself.")
    }
    if isDirectory.boolValue {
      let inside = absolute + "/Boxfile"
      guard FileSystem.exists(inside) else {
        throw CaravanError(
          .notFound, "the folder '\(path)' has no Boxfile", hint: "Write \(path)/Boxfile, or name the file itself.")
      }
      return inside
    }
    return absolute
  }

  /// Whether `caravan validate` should read the file as a Boxfile: it is named `Boxfile`,
  /// or its first statement other than `version` and `var` (both languages have them) is `build`.
  public static func isBoxfile(path: String, source: String) -> Bool {
    if (path as NSString).lastPathComponent == "Boxfile" { return true }
    guard let file = Machinefile.parse(source: source, fileName: path).0 else { return false }
    let first = file.statements.first { $0.name != "version" && $0.name != "var" }
    return first?.name == "build"
  }

  /// The `version:` of the `build` statement, expanded, for `${version}` inside the block.
  private static func declaredVersion(_ file: SourceFile, environment: [String: String]) -> String? {
    guard let build = file.statements.first(where: { $0.name == "build" }),
      let argument = build.arguments.first(where: { $0.label == "version" }),
      case .string(let literal, _) = argument.value.kind
    else { return nil }
    return Expansion(environment: environment).expand(literal)
  }
}
