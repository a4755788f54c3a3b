// Expanding `${…}` in strings. The validator has already checked that every variable
// without a fallback is set and that `${index}`/`${name}` appear only in machine blocks.

import Spec
import Support

struct Expansion {
  var environment: [String: String]
  /// The machine copy being lowered (nil at top level).
  var machineName: String?
  var machineIndex: Int = 1
  /// 0-based place among the instances of a `count:` machine: the offset of its `ip:`.
  var machinePosition: Int = 0

  func expand(_ literal: StringLiteral) -> String {
    if literal.parts.count == 1, case .text(let text) = literal.parts[0] { return text }
    var result = ""
    for part in literal.parts {
      switch part {
      case .text(let text):
        result += text
      case .environment(let name, let fallback, _, _):
        if let value = environment[name], !(fallback != nil && value.isEmpty) {
          result += value
        } else {
          result += fallback ?? ""
        }
      case .machineIndex:
        result += String(machineIndex)
      case .machineName:
        result += machineName ?? ""
      case .invalid:
        break
      }
    }
    return result
  }

  func expand(_ literals: [StringLiteral]) -> [String] { literals.map(expand) }
}
