// "did you mean …?": the closest valid name by edit distance (with transpositions, so
// `memroy` is one edit from `memory`).

public enum Suggestions {
  /// The candidate closest to `word`, if it is close enough to be a likely typo.
  public static func closest(to word: String, in candidates: [String]) -> String? {
    let lowered = word.lowercased()
    if let sameIgnoringCase = candidates.first(where: { $0.lowercased() == lowered }) {
      return sameIgnoringCase
    }
    var best: (candidate: String, distance: Int)?
    let limit = max(1, min(3, word.count / 3))
    for candidate in candidates {
      let distance = editDistance(lowered, candidate.lowercased())
      if distance <= limit, distance < (best?.distance ?? Int.max) {
        best = (candidate, distance)
      }
    }
    return best?.candidate
  }

  /// `; did you mean 'memory'?` or an empty string.
  public static func didYouMean(_ word: String, in candidates: [String], quote: (String) -> String = { "'\($0)'" })
    -> String
  {
    closest(to: word, in: candidates).map { "; did you mean \(quote($0))?" } ?? ""
  }

  /// Optimal string alignment distance: insertions, deletions, substitutions and
  /// transpositions of neighbours each cost 1.
  public static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previousPrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          value = min(value, previousPrevious[j - 2] + 1)
        }
        current[j] = value
      }
      (previousPrevious, previous, current) = (previous, current, previousPrevious)
    }
    return previous[b.count]
  }
}

extension Array where Element == String {
  /// `a, b and c`
  public var listed: String {
    switch count {
    case 0: return ""
    case 1: return self[0]
    default: return dropLast().joined(separator: ", ") + " and " + self[count - 1]
    }
  }
}
