// `cloud_init`: the user's own cloud-init data, checked before anything is made: each
// host file exists and is readable (relative to the Machinefile's folder), and the user
// data is a kind cloud-init reads, a `#cloud-config` being valid YAML.

import Foundation
import Spec
import Support
internal import Yams

extension Validator {
  func checkCloudInit(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "cloud_init user_data: \"cloud-config.yaml\""
    guard claim("cloud_init", statement, scope: scope, in: &settings) else { return }
    let args = arguments(
      of: statement, scope: scope, positional: 0, example: example, options: ["user_data", "inline", "network_config"])
    let options = args.options
    if let file = options["user_data"], let inline = options["inline"] {
      let (first, second) = file.labelLocation.line <= inline.labelLocation.line ? (file, inline) : (inline, file)
      error(
        "'cloud_init' takes user_data: (a host file) or inline: (the text), not both; remove one (\(first.label ?? ""): is at \(first.labelLocation))",
        atLabelOf: second)
      return
    }
    var userData: ((Expansion) -> CloudInitSpec.UserData)?
    if let option = options["user_data"], let literal = string(option.value, "'user_data:' of 'cloud_init'") {
      checkText(literal, at: option.value, scope: scope) { path in
        hostFileProblem(path, "'user_data:' of 'cloud_init'") { Validator.cloudInitProblem($0, source: "'\(path)'") }
      }
      userData = { .file($0.expand(literal)) }
    } else if let option = options["inline"], let literal = string(option.value, "'inline:' of 'cloud_init'") {
      // Verbatim, as a script body: a cloud-config's `${…}` and `{{ … }}` are cloud-init's.
      let text = literal.scriptText
      // A `"""` body starts on the line after its opening quotes: its line N is the file's line + N.
      var firstLine: Int?
      if case .string(_, multiline: true) = option.value.kind { firstLine = option.value.location.line }
      if let problem = Validator.cloudInitProblem(text, source: "'inline:'", firstLine: firstLine) {
        error(problem, at: option.value)
      }
      userData = { _ in .inline(text) }
    } else if options["user_data"] == nil, options["inline"] == nil {
      error(
        "'cloud_init' needs user_data: (a cloud-config or script file on the host) or inline: (its text) \(scope.description), e.g. `\(example)`",
        at: statement)
    }
    var networkConfig: StringLiteral?
    if let option = options["network_config"],
      let literal = string(option.value, "'network_config:' of 'cloud_init'")
    {
      networkConfig = literal
      checkText(literal, at: option.value, scope: scope) { path in
        hostFileProblem(path, "'network_config:' of 'cloud_init'") {
          Validator.yamlProblem($0, source: "the network config in '\(path)'")
        }
      }
    }
    guard let userData else { return }
    store("cloud_init", statement, in: &settings) { machine, expansion in
      machine.cloudInit = CloudInitSpec(
        userData: userData(expansion), networkConfig: networkConfig.map(expansion.expand))
    }
  }

  /// What is wrong with the host file `path` (relative to the Machinefile's folder): missing,
  /// a folder, unreadable, not UTF-8, or what `check` says of its text; nil if nothing.
  func hostFileProblem(_ path: String, _ subject: String, check: (String) -> String?) -> String? {
    if path.isEmpty { return "\(subject) is empty; give the path of a file on the host" }
    let full = FileSystem.resolve(path, relativeTo: directory)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
      let place = path.hasPrefix("/") || path.hasPrefix("~") ? "" : " in the Machinefile's folder"
      return "\(subject) names '\(path)', which does not exist\(place); check the path"
    }
    if isDirectory.boolValue { return "\(subject) names '\(path)', which is a folder; give the path of a file" }
    guard let data = FileManager.default.contents(atPath: full) else {
      return "\(subject) names '\(path)', which cannot be read; check its permissions"
    }
    guard let text = String(data: data, encoding: .utf8) else {
      return "\(subject) names '\(path)', which is not UTF-8 text; give it as text (not compressed)"
    }
    return check(text)
  }

  /// What is wrong with user data `text` for cloud-init, named `source`; nil if nothing.
  /// `firstLine`: the Machinefile line a `"""` text starts after, to name YAML lines by it.
  static func cloudInitProblem(_ text: String, source: String, firstLine: Int? = nil) -> String? {
    if text.allSatisfy(\.isWhitespace) {
      return "\(source) is empty; write a cloud-config (`#cloud-config` then YAML) or a script, or remove 'cloud_init'"
    }
    switch CloudInitFormat.of(text) {
    case .cloudConfig: return yamlProblem(text, source: "the cloud-config in \(source)", firstLine: firstLine)
    case .part: return nil
    case .mime: return CloudInitFormat.mimeProblem(text).map { "the MIME archive in \(source) \($0)" }
    case nil:
      let first = String(text.prefix { $0 != "\n" && $0 != "\r\n" }.prefix(40))
      if case .mapping? = try? Yams.compose(yaml: text) {
        return
          "\(source) looks like a cloud-config but does not start with `#cloud-config`, so cloud-init would ignore it; add the line `#cloud-config` at its top"
      }
      return
        "\(source) is not cloud-init user data (its first line is '\(first)'); start it with \(CloudInitFormat.accepted)"
    }
  }

  /// What is wrong with YAML `text` (not YAML, or not a map of keys), named `source`.
  static func yamlProblem(_ text: String, source: String, firstLine: Int? = nil) -> String? {
    let document: Node?
    do { document = try Yams.compose(yaml: text) } catch let error as YamlError {
      return "\(source) is not valid YAML: \(describe(error, firstLine: firstLine)); fix the YAML"
    } catch {
      return "\(source) is not valid YAML: \(error); fix the YAML"
    }
    switch document {
    case nil, .mapping?: return nil
    case .scalar(let scalar)? where Resolver.default.resolveTag(of: .scalar(scalar)) == .null: return nil
    case .sequence?:
      return "\(source) is a YAML list, not a map of keys; write `key: value` lines, e.g. `packages: [nginx]`"
    default:
      return "\(source) is a single YAML value, not a map of keys; write `key: value` lines, e.g. `packages: [nginx]`"
    }
  }

  /// A YAML error as `line L, column C: PROBLEM` (lines of the YAML text, from 1, and
  /// the Machinefile's line when the text starts after `firstLine`).
  static func describe(_ error: YamlError, firstLine: Int? = nil) -> String {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let during = context.map { " \($0.text)" } ?? ""
      let inFile = firstLine.map { " (Machinefile line \($0 + mark.line))" } ?? ""
      return "line \(mark.line), column \(mark.column)\(inFile): \(problem)\(during)"
    case .reader(let problem, let offset, _, _):
      return offset.map { "byte \($0): \(problem)" } ?? problem
    case .duplicatedKeysInMapping(let duplicates, let context):
      return "line \(context.mark.line): the key \(duplicates.joined(separator: ", ")) is written twice in one map"
    default:
      return "\(error)"
    }
  }
}
