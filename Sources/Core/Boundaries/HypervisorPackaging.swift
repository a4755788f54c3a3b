import Foundation
import Support

/// `caravan package`: a halted machine's disk becomes a box without the machine
/// being touched. A copy of it (a new overlay over its disk) boots as a guest of
/// its own, is cleaned for reuse, powers off, and is written out flattened.
public protocol HypervisorPackaging {
  /// Starts the copy of `plan` (named `plan.domainName`, its first forward SSH) on a
  /// new overlay over the disk of the machine's domain `machine`. The copy lives only
  /// as long as this connection: a killed `caravan` leaves no guest running.
  func startPackageCopy(_ plan: MachinePlan, of machine: String) throws
  /// Writes the stopped copy's disk, flattened and compressed (zstd qcow2), to `path`
  /// on this host; returns its virtual size in bytes.
  func exportPackageCopy(_ plan: MachinePlan, to path: String) throws -> UInt64
  /// Removes the copy's guest (if it still runs) and its overlay and seed; no error when gone.
  func removePackageCopy(_ domain: String, pool: String?) throws
}

extension Lifecycle {
  /// The copy of the machine of domain `domain` that `package` boots: a dot, which no
  /// machine's domain has, and the machine's domain before it, so its `destroy` finds it.
  public static func packageCopyName(_ domain: String) -> String { domain + ".package" }
}
