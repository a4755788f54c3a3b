import Foundation
import Support

/// The one wait for a guest's SSH, until a deadline: a machine's `up`, a box's
/// warm-state guest and a build VM all wait through it. Each round probes, stops
/// at an interrupt (the probe's own ssh is stopped by it too), returns once SSH
/// answers, gives up when the guest no longer runs (it never will answer) or the
/// deadline has passed, says how long it has waited, and sleeps.
public struct SSHWait {
  public var deadline: Date
  /// Seconds between failed probes: short where a probe is cheap, so the first
  /// answer is seen soon after the banner.
  public var interval: Double
  public var interrupt: Interrupt

  public init(deadline: Date, interval: Double, interrupt: Interrupt) {
    self.deadline = deadline
    self.interval = interval
    self.interrupt = interrupt
  }

  /// Probes until `probe` is ready; returns the seconds it took. `stopped` gives
  /// the error for a guest that no longer runs (nil while it runs), `timedOut` the
  /// error for the deadline with the last probe's detail, and `progress` is told
  /// after each failed probe the seconds waited and that probe's detail.
  @discardableResult
  public func run(
    probe: () -> (ready: Bool, detail: String),
    stopped: () throws -> Error?,
    timedOut: (_ lastDetail: String) -> Error,
    progress: (_ elapsed: Double, _ detail: String) -> Void
  ) throws -> Double {
    let start = Date()
    while true {
      let answer = probe()
      try interrupt.check()
      if answer.ready { return Date().timeIntervalSince(start) }
      if let error = try stopped() { throw error }
      if Date() >= deadline { throw timedOut(answer.detail) }
      progress(Date().timeIntervalSince(start), answer.detail)
      try interrupt.sleep(interval)
    }
  }
}
