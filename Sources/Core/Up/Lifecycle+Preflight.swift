import Foundation
import Host
import Support

extension Lifecycle {
  /// Below this much free space in CARAVAN_HOME, `up` stops: keys, locks and the
  /// index can no longer be written safely, let alone a box.
  static let homeFullBelow: UInt64 = 64 << 20

  /// `up`'s cheap host checks (`caravan doctor` runs them all), before any machine
  /// is made: each reads a few files, no libvirt and no child process, well under a
  /// millisecond. A missing OpenSSH client or a full CARAVAN_HOME stops `up` by name
  /// (instead of failing after the guest booted); a /dev/kvm that makes every define
  /// slow is a warning before the slow define.
  func preflight() throws {
    let checks = HostChecks(
      uri: hypervisor.uri, home: CaravanPaths.home(environment: environment), environment: environment, host: host)
    for check in hostChecks(checks) {
      switch check.status {
      case .error:
        throw CaravanError(
          check.id == "ssh" ? .notFound : .io, "caravan up cannot go on: \(check.summary)",
          hint: (check.fix.map { $0 + " " } ?? "") + "`caravan doctor` checks the rest of the host.")
      case .warning:
        reporter.warning(check.summary + (check.fix.map { ". " + $0 } ?? ""))
      case .ok, .skipped:
        break
      }
    }
  }

  private func hostChecks(_ checks: HostChecks) -> [HealthCheck] {
    var results = [checks.sshClient(withVersion: false)]
    // Only the failure that stops `up`: the doctor's lower thresholds are its business.
    results.append(checks.homeDisk(errorBelow: Lifecycle.homeFullBelow, warningBelow: Lifecycle.homeFullBelow))
    if LibvirtURI.isLocalURI(hypervisor.uri) { results.append(checks.kvmDevice()) }
    return results
  }
}
