import Foundation

/// Byte counts in binary units, for people: `1.5 GiB`, `300 MiB`.
public enum ByteSize {
  /// How a count is written.
  public enum Style: Sendable {
    /// A size reported once (doctor's free space): whole units from 10 up (`300 MiB`),
    /// one decimal below (`1.5 GiB`), `512 bytes`.
    case report
    /// A size that changes as it is watched (download progress): always one decimal
    /// (`450.0 MiB`, `1.0 GiB`), `512 B`.
    case progress
  }

  public static func text(_ bytes: UInt64, style: Style = .report) -> String {
    text(Double(bytes), style: style)
  }

  public static func text(_ bytes: Double, style: Style = .report) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    switch style {
    case .report:
      if unit == 0 { return "\(Int(value)) bytes" }
      return value >= 10 ? "\(Int(value)) \(units[unit])" : String(format: "%.1f %@", value, units[unit])
    case .progress:
      return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
    }
  }
}
