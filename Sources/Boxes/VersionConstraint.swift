/// A box version: dotted numbers, compared segment by segment (`12.10` > `12.9`,
/// `12.0` == `12`).
public struct BoxVersionNumber: Comparable, Hashable, Sendable, CustomStringConvertible {
  public var segments: [Int]

  public init?(_ text: String) {
    let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
    guard !parts.isEmpty else { return nil }
    var segments: [Int] = []
    for part in parts {
      guard !part.isEmpty, part.count <= 18, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(part) else { return nil }
      segments.append(value)
    }
    self.segments = segments
  }

  public var description: String { segments.map(String.init).joined(separator: ".") }

  private func padded(to count: Int) -> [Int] { segments + Array(repeating: 0, count: max(0, count - segments.count)) }

  public static func == (a: BoxVersionNumber, b: BoxVersionNumber) -> Bool {
    let n = max(a.segments.count, b.segments.count)
    return a.padded(to: n) == b.padded(to: n)
  }

  public func hash(into hasher: inout Hasher) {
    var trimmed = segments
    while trimmed.count > 1 && trimmed.last == 0 { trimmed.removeLast() }
    hasher.combine(trimmed)
  }

  public static func < (a: BoxVersionNumber, b: BoxVersionNumber) -> Bool {
    let n = max(a.segments.count, b.segments.count)
    return a.padded(to: n).lexicographicallyPrecedes(b.padded(to: n))
  }
}

/// Vagrant's box version constraints: `= >= > < <= != ~>` joined by commas.
/// `~>` is RubyGems' pessimistic operator: `~> 12.0` is `>= 12.0, < 13`,
/// `~> 12.0.1` is `>= 12.0.1, < 12.1`; with one segment RubyGems (and so
/// Vagrant) reads `~> 12` as `>= 12, < 13`.
public struct VersionConstraint: Sendable, Equatable, CustomStringConvertible {
  public enum Operator: String, Sendable, CaseIterable { case eq = "=", ne = "!=", ge = ">=", le = "<=", gt = ">", lt = "<", pessimistic = "~>" }

  public struct Clause: Sendable, Equatable {
    public var op: Operator
    public var version: BoxVersionNumber
  }

  public var clauses: [Clause]
  public let text: String

  public init(parsing text: String) throws {
    self.text = text
    var clauses: [Clause] = []
    for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
      let part = raw.trimmingCharacters(in: .whitespaces)
      // Longest operators first so ">=" is not read as ">".
      let ops = Operator.allCases.sorted { $0.rawValue.count > $1.rawValue.count }
      let op = ops.first { part.hasPrefix($0.rawValue) }
      let rest = op.map { part.dropFirst($0.rawValue.count).trimmingCharacters(in: .whitespaces) } ?? part
      guard !part.isEmpty, let version = BoxVersionNumber(rest) else {
        throw BoxError("'\(part)' in version constraint '\(text)' is not OPERATOR VERSION",
          hint: "Write constraints like '~> 12.0', '>= 1.2, < 2' or '= 1.0.3' (operators = != >= <= > < ~>, versions of dotted numbers).")
      }
      clauses.append(Clause(op: op ?? .eq, version: version))
    }
    self.clauses = clauses
  }

  public var description: String { text }

  public static func == (a: VersionConstraint, b: VersionConstraint) -> Bool { a.clauses == b.clauses }

  public func matches(_ version: String) -> Bool {
    guard let number = BoxVersionNumber(version) else { return false }
    return matches(number)
  }

  public func matches(_ version: BoxVersionNumber) -> Bool {
    clauses.allSatisfy { clause in
      let v = clause.version
      switch clause.op {
      case .eq: return version == v
      case .ne: return version != v
      case .ge: return version >= v
      case .le: return version <= v
      case .gt: return version > v
      case .lt: return version < v
      case .pessimistic:
        // Drop the last segment and bump the one before it: ~> 1.2.3 → < 1.3; ~> 1 → < 2.
        var upper = v.segments.count > 1 ? Array(v.segments.dropLast()) : v.segments
        upper[upper.count - 1] += 1
        return version >= v && version < BoxVersionNumber(segments: upper)
      }
    }
  }
}

extension BoxVersionNumber {
  init(segments: [Int]) { self.segments = segments }
}
