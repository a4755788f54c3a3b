import Foundation
import Support

/// A box version: dotted numbers, compared segment by segment (`12.10` > `12.9`,
/// `12.0` == `12`).
public struct BoxVersionNumber: Comparable, Hashable, Sendable, CustomStringConvertible {
  public var segments: [Int]

  /// `"12"`, `"12.1"`, `"12.1.20240101"`; nil for anything else (`"v1"`, `"1..2"`, `"1.0-rc1"`).
  public init?(_ text: String) {
    let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
    var segments: [Int] = []
    for part in parts {
      // 18 digits always fit an Int, and leave room for the `~>` bump.
      guard !part.isEmpty, part.count <= 18, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(part)
      else { return nil }
      segments.append(value)
    }
    guard !segments.isEmpty else { return nil }
    self.segments = segments
  }

  public init(segments: [Int]) { self.segments = segments }

  public var description: String { segments.map(String.init).joined(separator: ".") }

  /// The one ordering of version texts (box lists, catalogs): dotted numbers
  /// by value (`1.10.0` after `1.9.2`); a text that is not dotted numbers comes
  /// before all of them, and such texts sort among themselves as text.
  public static func ascending(_ a: String, _ b: String) -> Bool {
    switch (BoxVersionNumber(a), BoxVersionNumber(b)) {
    case (let x?, let y?): return x < y || (x == y && a < b)
    case (nil, _?): return true
    case (_?, nil): return false
    case (nil, nil): return a < b
    }
  }

  private func padded(to count: Int) -> [Int] { segments + Array(repeating: 0, count: max(0, count - segments.count)) }

  public static func == (a: BoxVersionNumber, b: BoxVersionNumber) -> Bool {
    let n = max(a.segments.count, b.segments.count)
    return a.padded(to: n) == b.padded(to: n)
  }

  public func hash(into hasher: inout Hasher) {
    // Equal numbers hash alike: "12", "12.0" and "12.0.0" all hash as [12].
    var trimmed = segments
    while trimmed.count > 1 && trimmed.last == 0 { trimmed.removeLast() }
    hasher.combine(trimmed)
  }

  public static func < (a: BoxVersionNumber, b: BoxVersionNumber) -> Bool {
    let n = max(a.segments.count, b.segments.count)
    return a.padded(to: n).lexicographicallyPrecedes(b.padded(to: n))
  }
}

/// Vagrant's box version constraints: `= != >= <= > < ~>` joined by commas, all
/// of which must hold; a bare version means `=`.
///
/// `~>` is RubyGems' pessimistic operator (Vagrant hands each part to
/// `Gem::Requirement`): the upper bound drops the last segment and bumps the one
/// before it, so `~> 12.0` is `>= 12.0, < 13` and `~> 12.0.1` is
/// `>= 12.0.1, < 12.1`. With one segment there is nothing to drop and RubyGems'
/// `Gem::Version#bump` bumps that segment, so `~> 12` is `>= 12, < 13` — and we
/// do the same.
public struct VersionConstraint: Sendable, Equatable, CustomStringConvertible {
  public enum Operator: String, Sendable, CaseIterable {
    case eq = "="
    case ne = "!="
    case ge = ">="
    case le = "<="
    case gt = ">"
    case lt = "<"
    case pessimistic = "~>"
  }

  public struct Clause: Sendable, Equatable {
    public var op: Operator
    public var version: BoxVersionNumber
  }

  /// All must match.
  public var clauses: [Clause]
  /// The constraint as written, for messages.
  public let text: String

  static let forms =
    "Write constraints like '~> 12.0', '>= 1.2, < 2' or '= 1.0.3' (operators = != >= <= > < ~>, joined by commas; versions are dotted numbers)."

  /// Operators people write by mistake, and what they meant.
  static let misspelledOperators = [
    "=>": ">=", "=<": "<=", "==": "=", "~": "~>", "<>": "!=", "=~": "~>", "~=": "~>", "!": "!=",
  ]

  public init(parsing text: String) throws {
    self.text = text
    guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw CaravanError(.invalidInput, "the version constraint is empty", hint: VersionConstraint.forms)
    }
    clauses = try text.split(separator: ",", omittingEmptySubsequences: false).map {
      try VersionConstraint.clause(String($0), in: text)
    }
  }

  private static func clause(_ raw: String, in text: String) throws -> Clause {
    let part = raw.trimmingCharacters(in: .whitespaces)
    guard !part.isEmpty else {
      throw CaravanError(.invalidInput, "version constraint '\(text)' has an empty part between commas", hint: forms)
    }
    // The operator is the leading run of operator characters, so a typo such as
    // `=>` is reported as a typo rather than as a bad version.
    let symbol = String(part.prefix { "<>=!~".contains($0) })
    let rest = part.dropFirst(symbol.count).trimmingCharacters(in: .whitespaces)
    if symbol.isEmpty {
      guard let version = BoxVersionNumber(rest) else {
        throw CaravanError(
          .invalidInput, "'\(part)' in version constraint '\(text)' is not OPERATOR VERSION", hint: forms)
      }
      return Clause(op: .eq, version: version)
    }
    guard let op = Operator(rawValue: symbol) else {
      let suggestion = misspelledOperators[symbol].map { "; did you mean '\($0)'?" } ?? ""
      throw CaravanError(
        .invalidInput, "'\(symbol)' in version constraint '\(text)' is not an operator\(suggestion)", hint: forms)
    }
    guard !rest.isEmpty else {
      throw CaravanError(
        .invalidInput, "'\(symbol)' in version constraint '\(text)' has no version after it", hint: forms)
    }
    guard let version = BoxVersionNumber(rest) else {
      throw CaravanError(
        .invalidInput, "'\(rest)' in version constraint '\(text)' is not a version (dotted numbers like 12.1.0)",
        hint: forms)
    }
    return Clause(op: op, version: version)
  }

  public var description: String { text }

  public static func == (a: VersionConstraint, b: VersionConstraint) -> Bool { a.clauses == b.clauses }

  /// False for a version that is not dotted numbers.
  public func matches(_ version: String) -> Bool {
    guard let number = BoxVersionNumber(version) else { return false }
    return matches(number)
  }

  public func matches(_ version: BoxVersionNumber) -> Bool {
    clauses.allSatisfy { $0.matches(version) }
  }
}

extension VersionConstraint.Clause {
  func matches(_ version: BoxVersionNumber) -> Bool {
    switch op {
    case .eq: return version == self.version
    case .ne: return version != self.version
    case .ge: return version >= self.version
    case .le: return version <= self.version
    case .gt: return version > self.version
    case .lt: return version < self.version
    case .pessimistic: return version >= self.version && version < pessimisticUpperBound
    }
  }

  /// RubyGems' `Gem::Version#bump`: drop the last segment unless it is the only
  /// one, then add one to the new last: 1.2.3 → 1.3, 1.2 → 2, 1 → 2.
  var pessimisticUpperBound: BoxVersionNumber {
    var upper = version.segments.count > 1 ? Array(version.segments.dropLast()) : version.segments
    upper[upper.count - 1] += 1
    return BoxVersionNumber(segments: upper)
  }
}
