/// The last lines of a command's output, kept as they stream in (or taken from lines
/// already read), for the error that says what the command printed.
public struct OutputTail: Sendable, Equatable {
  /// How many lines are kept.
  public let limit: Int
  /// The last `limit` lines, oldest first.
  public private(set) var lines: [String] = []

  /// An empty tail that keeps the last `limit` lines appended to it.
  public init(_ limit: Int) {
    self.limit = limit
  }

  /// The last `limit` of `lines`.
  public init(_ limit: Int, of lines: some Sequence<some StringProtocol>) {
    self.limit = limit
    self.lines = lines.suffix(limit).map { String($0) }
  }

  /// Keeps `line`, dropping the oldest one beyond the limit.
  public mutating func append(_ line: String) {
    lines.append(line)
    if lines.count > limit { lines.removeFirst() }
  }

  public var isEmpty: Bool { lines.isEmpty }
  public var last: String? { lines.last }

  /// The lines on one line, between `separator`s.
  public func joined(separator: String) -> String { lines.joined(separator: separator) }

  /// "Its last lines:" and the lines, each indented two spaces, for an error's hint;
  /// `silent` when there are none.
  public func quoted(silent: [String] = []) -> [String] {
    lines.isEmpty ? silent : ["Its last lines:"] + lines.map { "  " + $0 }
  }
}
