// Strings standing where a number, size, duration or boolean is expected
// (`count: "${workers:-3}"`, `memory "${mem:-2GiB}"`): interpolated, then read as that
// value, with what their variables held kept for the messages about them.

import Spec
import Support

extension Validator {
  /// `value` as a scalar: a string is interpolated and read as an integer, size, duration
  /// or boolean (else it stays a string, of its expanded text); other values are
  /// returned as they are. nil when the string cannot be expanded (an unset variable,
  /// reported where interpolations are checked).
  func typed(_ value: Value) -> Value? {
    guard case .string(let literal, _) = value.kind, value.origin == nil else { return value }
    guard isExpandable(literal) else { return nil }
    guard !literal.usesMachineVariables else {
      error(
        "'${index}' and '${name}' cannot stand for a number, size, duration or boolean (they differ per machine); write the value, or use a `var`",
        at: value)
      return nil
    }
    let text = Expansion(environment: environment).expand(literal)
    var result = value
    result.origin = origin(of: literal)
    if let tokens = try? Lexer.tokenize(text), tokens.count == 2, let kind = Validator.scalar(tokens[0].kind) {
      result.kind = kind
      result.text = tokens[0].text
    } else {
      result.kind = .string(StringLiteral(parts: [.text(text)]), multiline: false)
      result.text = text
    }
    return result
  }

  private static func scalar(_ kind: TokenKind) -> Value.Kind? {
    switch kind {
    case .integer(let number): return .integer(number)
    case .size(let bytes): return .size(bytes: bytes)
    case .duration(let milliseconds): return .duration(milliseconds: milliseconds)
    case .bool(let flag): return .bool(flag)
    default: return nil
    }
  }

  /// What the literal's variables held and where from: `${workers} is "abc" (from --var)`.
  func origin(of literal: StringLiteral) -> String {
    var held: [String] = []
    for part in literal.parts {
      guard case .environment(let name, let fallback, _, _) = part else { continue }
      if let value = environment[name], !(fallback != nil && value.isEmpty) {
        let source = variableSources[name] ?? "environment"
        let from = source == "environment" ? "the environment" : source == "default" ? "its default" : source
        held.append("${\(name)} is \"\(value)\" (from \(from))")
      } else if let fallback {
        held.append("${\(name)} is unset, so \"\(fallback)\" (its fallback)")
      }
    }
    return held.joined(separator: ", ")
  }
}
