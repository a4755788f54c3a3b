// Machines with a shared prefix and consecutive numbers (`node1`, `node2`, `node3`)
// whose settings differ only by that number become one `count:` block: a value that
// is the number written in (`node1` → `node${index}`), or consecutive addresses
// (the first one, which the next instances count up from), folds; anything else that
// differs keeps separate blocks.

import Foundation

/// A `machine` block of the Machinefile: one machine, or several with `count:`.
struct MachineGroup {
  var name: String
  var line: Int
  /// `count:` and `first:`, for a folded block.
  var count: (count: Int, first: Int)?
  /// `count:` as written, when it reads a variable.
  var countValue: Written?
  var primary = false
  var autostart = true
  var settings: [Setting]
  /// The Vagrant names, and the Machinefile names of the same machines.
  var vagrantNames: [String]
  var instanceNames: [String]
}

enum MachineFolding {
  static func fold(_ machines: [MachineDraft]) -> [MachineGroup] {
    var groups: [MachineGroup] = []
    var start = 0
    while start < machines.count {
      let (group, next) = longestGroup(machines, from: start)
      groups.append(group)
      start = next
    }
    let names = groups.flatMap(\.instanceNames)
    guard Set(names).count == names.count else {
      // Folding would give two machines one name: keep every machine as it is.
      return machines.map(single)
    }
    return groups
  }

  private static func single(_ machine: MachineDraft) -> MachineGroup {
    let name = validName(machine.name)
    return MachineGroup(
      name: name, line: machine.line, primary: machine.primary, autostart: machine.autostart,
      settings: machine.settings, vagrantNames: [machine.name], instanceNames: [name])
  }

  /// The group starting at `start` (the longest that folds) and where the next one starts.
  private static func longestGroup(_ machines: [MachineDraft], from start: Int) -> (MachineGroup, Int) {
    let first = machines[start]
    guard let (prefix, number) = numbered(first.name), !first.primary else { return (single(first), start + 1) }
    let base = String(prefix.reversed().drop { "-_.".contains($0) }.reversed())
    guard !base.isEmpty, validName(base) == base else { return (single(first), start + 1) }
    var best: (end: Int, settings: [Setting])?
    var end = start + 1
    while end < machines.count, let (otherPrefix, otherNumber) = numbered(machines[end].name), otherPrefix == prefix,
      otherNumber == number + (end - start), !machines[end].primary, machines[end].autostart == first.autostart,
      let settings = unify(machines[start...end].map(\.settings), indices: Array(number...otherNumber))
    {
      best = (end, settings)
      end += 1
    }
    guard let best else { return (single(first), start + 1) }
    let members = machines[start...best.end]
    let group = MachineGroup(
      name: base, line: first.line, count: (members.count, number), autostart: first.autostart,
      settings: best.settings, vagrantNames: members.map(\.name),
      instanceNames: (number..<number + members.count).map { "\(base)-\($0)" })
    return (group, best.end + 1)
  }

  /// `node12` → ("node", 12); nil without a number (or with a leading zero: `node01`).
  static func numbered(_ name: String) -> (prefix: String, number: Int)? {
    let digits = String(name.reversed().prefix { $0.isASCII && $0.isNumber }.reversed())
    guard !digits.isEmpty, digits.count < name.count, digits.count <= 6, digits == "0" || !digits.hasPrefix("0"),
      let number = Int(digits)
    else { return nil }
    return (String(name.dropLast(digits.count)), number)
  }

  /// A name the Machinefile takes: letters, digits, `-`, `_`, `.`, starting with a letter or digit.
  static func validName(_ name: String) -> String {
    var out = String(
      name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "-" })
    if let first = out.first, !(first.isLetter || first.isNumber) { out = "m" + out }
    return out.isEmpty ? "default" : out
  }

  /// The settings of several machines as one block's, or nil when they differ otherwise than by `indices`.
  static func unify(_ machines: [[Setting]], indices: [Int]) -> [Setting]? {
    guard let first = machines.first, machines.allSatisfy({ $0.count == first.count }) else { return nil }
    var out: [Setting] = []
    for position in first.indices {
      let column = machines.map { $0[position] }
      var merged = column[0]
      let sameShape = column.allSatisfy {
        $0.name == merged.name && $0.comments == merged.comments && $0.values.count == merged.values.count
          && $0.options.map(\.key) == merged.options.map(\.key)
      }
      guard sameShape else { return nil }
      for index in merged.values.indices {
        guard let value = unify(column.map { $0.values[index] }, indices: indices, address: false) else { return nil }
        merged.values[index] = value
      }
      for index in merged.options.indices {
        let address = merged.name == "network" && merged.options[index].key == "ip"
        guard let value = unify(column.map { $0.options[index].value }, indices: indices, address: address) else {
          return nil
        }
        merged.options[index].value = value
      }
      out.append(merged)
    }
    return out
  }

  /// One value for all machines: the same value, the index written in, or (for an
  /// address) the first of consecutive addresses.
  static func unify(_ values: [Written], indices: [Int], address: Bool) -> Written? {
    if address {
      let numbers = values.compactMap { $0.string.flatMap(NetworkText.ipv4) }
      guard numbers.count == values.count, case .text = values[0] else { return nil }
      let consecutive = numbers.indices.allSatisfy {
        Int64(numbers[$0]) - Int64(numbers[0]) == Int64(indices[$0] - indices[0])
      }
      return consecutive ? values[0] : nil
    }
    if values.allSatisfy({ $0 == values[0] }) { return values[0] }
    switch values[0] {
    case .text:
      let texts = values.compactMap { if case .text(let text) = $0 { return text } else { return nil } }
      guard texts.count == values.count else { return nil }
      return indexTemplate(texts, indices: indices).map(Written.template)
    case .integer:
      return values == indices.map(Written.integer) ? .template("${index}") : nil
    case .list(let first):
      let lists = values.compactMap {
        if case .list(let list) = $0, list.count == first.count { return list } else { return nil }
      }
      guard lists.count == values.count else { return nil }
      var out: [Written] = []
      for index in first.indices {
        guard let value = unify(lists.map { $0[index] }, indices: indices, address: false) else { return nil }
        out.append(value)
      }
      return .list(out)
    case .map(let first):
      let maps = values.compactMap {
        if case .map(let map) = $0, map.map(\.key) == first.map(\.key) { return map } else { return nil }
      }
      guard maps.count == values.count else { return nil }
      var out: [Written.Entry] = []
      for index in first.indices {
        guard let value = unify(maps.map { $0[index].value }, indices: indices, address: false) else { return nil }
        out.append(Written.Entry(key: first[index].key, value: value))
      }
      return .map(out)
    case .pair:
      let pairs = values.compactMap {
        if case .pair(let left, let right) = $0 { return (left, right) } else { return nil }
      }
      guard pairs.count == values.count, let left = unify(pairs.map(\.0), indices: indices, address: false),
        let right = unify(pairs.map(\.1), indices: indices, address: false)
      else { return nil }
      return .pair(left, right)
    default:
      return nil
    }
  }

  /// A template with `${index}` where each text has its machine's number, or nil.
  static func indexTemplate(_ texts: [String], indices: [Int]) -> String? {
    let text = texts[0]
    let token = String(indices[0])
    var found: [Range<String.Index>] = []
    var from = text.startIndex
    while let range = text.range(of: token, range: from..<text.endIndex) {
      let before = range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : nil
      let after = range.upperBound < text.endIndex ? text[range.upperBound] : nil
      if !(before?.isNumber ?? false) && !(after?.isNumber ?? false) { found.append(range) }
      from = range.upperBound
    }
    let candidates = [found] + (found.count > 1 ? found.map { [$0] } : [])
    for ranges in candidates where !ranges.isEmpty {
      var pieces: [String] = []
      var start = text.startIndex
      for range in ranges {
        pieces.append(String(text[start..<range.lowerBound]))
        start = range.upperBound
      }
      pieces.append(String(text[start...]))
      if texts.indices.allSatisfy({ pieces.joined(separator: String(indices[$0])) == texts[$0] }) {
        return pieces.map { Render.escaped($0, dollars: true) }.joined(separator: "${index}")
      }
    }
    return nil
  }
}
