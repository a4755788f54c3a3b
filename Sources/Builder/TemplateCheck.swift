// What `caravan validate` and `caravan build` (before anything starts) can know about a
// Boxfile's templates without building: each file is read and its placeholders checked
// against the names a build gives them. Here, in Builder, beside the renderer whose grammar
// it checks, because Machinefile reads no file but the one it parses (architecture.md);
// the problems are Machinefile diagnostics in the compiler form, `TEMPLATE:LINE:COL: error:`.

import Foundation
import Machinefile
import Spec
import Support

public enum TemplateCheck {
  /// The names every template of `spec` may use: the built-in ones and every `var`.
  public static func knownNames(_ spec: BuildSpec) -> [String] {
    (TemplateRenderer.builtInNames + spec.variables.keys).reduce(into: [String]()) { names, name in
      if !names.contains(name) { names.append(name) }
    }
  }

  /// Every problem of every template of `spec`; each file named by `display` (a path as the
  /// user would write it).
  public static func diagnostics(of spec: BuildSpec, display: (String) -> String = { $0 }) -> [Diagnostic] {
    let known = knownNames(spec)
    return spec.templates.flatMap { template in
      diagnostics(ofFile: template.path, shownAs: display(template.path), boxfile: display(spec.file), known: known)
    }
  }

  static func diagnostics(ofFile path: String, shownAs: String, boxfile: String, known: [String]) -> [Diagnostic] {
    let nowhere = SourceLocation(line: 0, column: 0)
    guard let data = FileManager.default.contents(atPath: path) else {
      let reason = FileSystem.exists(path) ? "it cannot be read; check its permissions" : "no such file"
      return [
        Diagnostic(
          message: "cannot read template '\(shownAs)': \(reason); check `template` in \(boxfile)", location: nowhere,
          length: 0, file: shownAs)
      ]
    }
    let bytes = [UInt8](data)
    if let bad = UTF8Text.firstInvalidByte(in: bytes) {
      return [Diagnostic.invalidUTF8(at: bad, in: bytes, file: shownAs)]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    return TemplateRenderer.issues(in: text, known: known).map { issue in
      Diagnostic(
        message: issue.message, location: SourceLocation(line: issue.line, column: issue.column), length: issue.length,
        file: shownAs, sourceLine: issue.line <= lines.count ? String(lines[issue.line - 1]) : nil)
    }
  }
}
