import Foundation
import Spec
import Support

/// How many machines `up` boots at once, and why (said before it starts).
public struct Parallelism: Sendable, Equatable {
  public var limit: Int
  public var reason: String

  public init(limit: Int, reason: String) {
    self.limit = limit
    self.reason = reason
  }

  /// `--parallel N` when given; else from the libvirt host: one at a time when guests run
  /// under TCG on fewer than 4 host CPUs (software-emulated guests booting together only
  /// slow each other down there), else as many as the host's CPUs and available memory
  /// hold, counting each machine as big as the largest one. The host is only asked
  /// (`resources`, `softwareEmulated`) when the bound is not already settled.
  public static func choose(
    requested: Int?, machines: [MachineSpec], resources: () throws -> HostResources,
    softwareEmulated: @autoclosure () -> Bool, warm: Bool = false
  ) -> Parallelism {
    let count = machines.count
    if let requested {
      return Parallelism(limit: max(1, min(requested, count)), reason: "--parallel \(requested)")
    }
    guard count > 1 else { return Parallelism(limit: 1, reason: "one machine") }
    guard let host = try? resources() else {
      return Parallelism(limit: 1, reason: "libvirt did not say what the host has; `--parallel N` overrides")
    }
    let cpus = max(1, machines.map(\.cpus).max() ?? 1)
    let memory = Int(max(1, machines.map(\.memoryMiB).max() ?? 1))
    let byMemory = host.availableMemoryMiB.map { max(1, $0 / memory) } ?? count
    let memoryText = host.availableMemoryMiB.map { ", \($0) MiB available" } ?? ""
    if warm {
      // Restoring a saved guest is mostly reading its memory back: no boot to share CPUs with.
      return Parallelism(
        limit: min(count, max(2, host.cpus), byMemory),
        reason:
          "warm starts restore a saved guest instead of booting; \(host.cpus) host CPUs\(memoryText); `--parallel N` changes it"
      )
    }
    let softwareEmulated = softwareEmulated()
    if softwareEmulated && host.cpus < 4 {
      return Parallelism(
        limit: 1,
        reason:
          "guests run under TCG (software emulation) on \(host.cpus) host CPU\(host.cpus == 1 ? "" : "s"), where machines booted together only slow each other down; `--parallel N` overrides"
      )
    }
    // A KVM guest's boot is mostly waiting; a TCG guest keeps its vCPUs busy.
    let byCPU = softwareEmulated ? max(1, host.cpus / cpus) : max(2, host.cpus / 2)
    let limit = min(count, byCPU, byMemory)
    return Parallelism(
      limit: limit,
      reason:
        "\(host.cpus) host CPUs\(memoryText), machines of up to \(cpus) CPU and \(memory) MiB\(softwareEmulated ? " under TCG" : ""); `--parallel N` changes it"
    )
  }
}

/// One `caravan up` of several machines: each machine (its before triggers, its `up`,
/// its after triggers) runs on its own worker, at most `Parallelism.limit` at once. A
/// machine that fails stops only itself (a new one is removed, as a single `up` does);
/// the others go on, and a summary at the end names each failed machine and why.
struct ParallelUp {
  let lifecycle: Lifecycle
  let plans: [UpPlan]
  let options: UpOptions

  var machines: [MachineSpec] { plans.map(\.machine) }

  func run() throws {
    let parallelism = Parallelism.choose(
      requested: options.parallel, machines: machines, resources: { try lifecycle.hypervisor.hostResources() },
      softwareEmulated: usesTCG(), warm: machines.allSatisfy { options.warm ?? $0.libvirt.warm })
    let reporter = lifecycle.reporter
    if machines.count > 1 {
      let pace = parallelism.limit == 1 ? "one at a time" : "\(parallelism.limit) at a time"
      reporter.note("bringing up \(machines.count) machines, \(pace) (\(parallelism.reason))")
    }
    let outcomes: [Error?] = concurrentMap(machines.count, limit: parallelism.limit) { index in
      let plan = plans[index]
      let machine = plan.machine
      do {
        try lifecycle.withTriggers("up", [machine]) { _ in
          try lifecycle.track(machine.name, .up) { try lifecycle.up(plan, options: options) }
        }
        return nil
      } catch {
        return error
      }
    }
    lifecycle.recordInIndex()
    let failures = zip(machines, outcomes).compactMap { machine, error in error.map { (machine.name, $0) } }
    // One machine: its own error, exactly as it was. Interrupted: the caller says what each was left as.
    if machines.count == 1 || lifecycle.interrupt.requested, let failure = failures.first { throw failure.1 }
    guard machines.count > 1 else { return }
    reporter.note(
      failures.isEmpty
        ? "all \(machines.count) machines are up"
        : "\(machines.count - failures.count) of \(machines.count) machines are up; \(failures.count) failed:")
    for (name, error) in failures {
      reporter.note("  \(name): \(ParallelUp.firstLine(of: error))")
    }
    guard let first = failures.first else { return }
    let names = failures.map(\.0)
    let retry = names.joined(separator: " ")
    throw CaravanError(
      (first.1 as? CaravanError)?.kind ?? .internalError,
      "\(failures.count) of \(machines.count) machines did not come up: \(names.joined(separator: ", "))",
      hint:
        "Each one's error is above. `caravan up \(retry)` tries again; `caravan destroy -f \(retry)` removes \(names.count == 1 ? "it" : "them").",
      cause: first.1)
  }

  /// Whether any of the machines would run under TCG (the host lacks usable KVM, or the
  /// Machinefile asks for it).
  private func usesTCG() -> Bool {
    plans.contains { (try? $0.accelerator.get())?.accelerator != .kvm }
  }

  static func firstLine(of error: Error) -> String {
    let text = (error as? CaravanError)?.message ?? "\(error)"
    return text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
  }
}
