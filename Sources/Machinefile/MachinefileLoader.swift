// The public entry points: find a Machinefile, load it (parse, validate, lower), or only
// check it for `caravan validate`.

import Foundation
import Spec
import Support

public enum Machinefile {
  /// Parse, validate and lower. Throws `MachinefileError` with all diagnostics (or the single syntax error).
  public static func load(source: String, fileName: String, environment: [String: String]) throws -> ProjectSpec {
    let (spec, diagnostics) = check(source: source, fileName: fileName, environment: environment)
    guard let spec else { throw MachinefileError(diagnostics: diagnostics) }
    return spec
  }

  /// Reads the file at `path` (an unreadable file is a `MachinefileError` naming the path),
  /// and the var files `variables` names and `Machinefile.vars` beside it, then loads it;
  /// diagnostics name the file as `shownAs` (default: `path` as given).
  /// Every command that reads a Machinefile comes through here.
  public static func load(
    path: String, shownAs: String? = nil, environment: [String: String], variables: VariableInput = VariableInput()
  ) throws -> ProjectSpec {
    let (spec, diagnostics) = try check(path: path, shownAs: shownAs, environment: environment, variables: variables)
    guard let spec else { throw MachinefileError(diagnostics: diagnostics) }
    return spec
  }

  /// `check` of the file at `path`, for `caravan validate`; an unreadable file is a
  /// `MachinefileError` naming the path.
  public static func check(
    path: String, shownAs: String? = nil, environment: [String: String], variables: VariableInput = VariableInput()
  ) throws -> (spec: ProjectSpec?, diagnostics: [Diagnostic]) {
    let shown = shownAs ?? path
    let source = try read(path, shownAs: shownAs)
    let layers = try variableLayers(variables, machinefile: FileSystem.absolute(path), shownAs: shown)
    let directory = (FileSystem.absolute(path) as NSString).deletingLastPathComponent
    return check(source: source, fileName: shown, environment: environment, layers: layers, directory: directory)
  }

  /// `path` as the user would name it from `cwd`: relative when it is inside
  /// `cwd` or in one of its parents (`Machinefile`, `../Machinefile`), else as given.
  public static func displayName(of path: String, from cwd: String) -> String {
    let base = cwd.hasSuffix("/") ? cwd : cwd + "/"
    if path.hasPrefix(base) { return String(path.dropFirst(base.count)) }
    var parent = (cwd as NSString).deletingLastPathComponent
    var ups = "../"
    while parent != "/" && ups.count <= 9 {
      if (path as NSString).deletingLastPathComponent == parent { return ups + (path as NSString).lastPathComponent }
      parent = (parent as NSString).deletingLastPathComponent
      ups += "../"
    }
    return path
  }

  /// Diagnostics only (for `caravan validate`); never throws for a bad file. The spec is nil
  /// when there is any error.
  public static func check(source: String, fileName: String, environment: [String: String])
    -> (spec: ProjectSpec?, diagnostics: [Diagnostic])
  {
    check(source: source, fileName: fileName, environment: environment, layers: [])
  }

  /// `check` with the values of `--var`, the var files and `Machinefile.vars` (`layers`, in
  /// precedence order). `${NAME}` reads a declared `var`'s value, else the environment.
  /// Host files the file names (`cloud_init user_data:`) are looked for in `directory`
  /// (default: the folder of `fileName`, from the current one).
  static func check(
    source: String, fileName: String, environment: [String: String], layers: [VariableLayer],
    directory: String? = nil
  ) -> (spec: ProjectSpec?, diagnostics: [Diagnostic]) {
    let (parsed, lines, failure) = parse(source: source, fileName: fileName)
    guard let file = parsed else { return (nil, failure) }
    let variables = VariableResolution(of: file, layers: layers, environment: environment, environmentFirst: true)
    let merged = environment.merging(variables.values) { _, own in own }
    let validator = Validator(fileName: fileName, lines: lines, environment: merged, directory: directory)
    validator.variableSources = variables.sources
    validator.declaredNames = Set(variables.names)
    let checked = validator.validate(file)
    if checked != nil { validator.checkVariableInputs(layers) }
    guard let checked, !validator.hasErrors else { return (nil, validator.diagnostics) }
    var spec = Lowering.lower(checked, environment: merged)
    spec.variables = variables.described
    return (spec, validator.diagnostics)
  }

  /// Lexes and parses a Machinefile or Boxfile: the syntax tree, or the one syntax error.
  static func parse(source: String, fileName: String) -> (SourceFile?, SourceLines, [Diagnostic]) {
    var lexer = Lexer(source: source)
    let lines = SourceLines(bytes: lexer.bytes)
    do {
      var parser = Parser(tokens: try lexer.tokenize())
      return (try parser.parseFile(), lines, [])
    } catch let error as SyntaxError {
      let diagnostic = Diagnostic(
        severity: .error, message: error.message, location: error.location, length: error.length, file: fileName,
        sourceLine: lines.line(error.location.line))
      return (nil, lines, [diagnostic])
    } catch {
      let diagnostic = Diagnostic(
        message: "\(error)", location: SourceLocation(line: 0, column: 0), length: 0, file: fileName)
      return (nil, lines, [diagnostic])
    }
  }

  /// Vagrant's lookup: `CARAVAN_MACHINEFILE` if set (a path, relative to the current
  /// directory), else `Machinefile` in `directory`, then in each parent. nil if none.
  public static func find(from directory: String, environment: [String: String]) -> String? {
    let fileManager = FileManager.default
    if let chosen = environment["CARAVAN_MACHINEFILE"], !chosen.isEmpty {
      return FileSystem.absolute(chosen)
    }
    var current = URL(fileURLWithPath: FileSystem.absolute(directory)).standardizedFileURL
    while true {
      let candidate = current.appendingPathComponent("Machinefile").path
      var isDirectory: ObjCBool = false
      if fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
        return candidate
      }
      let parent = current.deletingLastPathComponent().standardizedFileURL
      if parent.path == current.path || current.path == "/" { return nil }
      current = parent
    }
  }

  /// The file's text; a byte that is not UTF-8 is a diagnostic at its line and column,
  /// naming the file as `shownAs`.
  static func read(_ path: String, shownAs: String? = nil, what: String = "Machinefile") throws -> String {
    func failure(_ message: String) -> MachinefileError {
      MachinefileError(diagnostics: [
        Diagnostic(message: message, location: SourceLocation(line: 0, column: 0), length: 0, file: path)
      ])
    }
    let fileManager = FileManager.default
    var isDirectory: ObjCBool = false
    guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw failure(
        "cannot read \(what) '\(path)': no such file; \(what == "Machinefile" ? "create one with `caravan init` or check the path" : "check the path")"
      )
    }
    guard !isDirectory.boolValue else {
      throw failure("cannot read \(what) '\(path)': it is a directory; give the path of the file inside it")
    }
    guard let data = fileManager.contents(atPath: path) else {
      throw failure("cannot read \(what) '\(path)': permission denied; check the file's permissions")
    }
    let bytes = [UInt8](data)
    if let bad = UTF8Text.firstInvalidByte(in: bytes) {
      throw MachinefileError(diagnostics: [Diagnostic.invalidUTF8(at: bad, in: bytes, file: shownAs ?? path)])
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
