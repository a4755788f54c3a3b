import Foundation
import Spec
import Support

extension Lifecycle {
  /// `caravan halt`: `sudo poweroff` over SSH, then ACPI, then a forced power-off,
  /// each stage waiting the machine's `graceful_halt_timeout`; `force` goes straight to the last.
  public func halt(_ machines: [MachineSpec], force: Bool) throws {
    for machine in machines.reversed() {
      try track(machine.name, .halt) { try halt(machine, force: force) }
    }
  }

  func halt(_ machine: MachineSpec, force: Bool) throws {
    let name = machine.name
    let domain = project.domainName(for: name)
    let state = try reconcile(machine)
    let status = state.status
    switch status {
    case .notCreated:
      reporter.step(name, "not created")
      return
    case .poweroff:
      reporter.step(name, "already powered off")
      return
    case .saved:
      // Suspended: what is left to halt is the saved memory.
      try savedStates.discardSavedMemory(domain: domain)
      reporter.step(name, "powered off (its saved memory was discarded)")
      return
    default: break
    }
    if let record = state.record { closeSharedConnection(machine, record: record) }
    if !force, case .tracked(.running, let record) = state {
      reporter.step(name, "powering off through SSH (sudo poweroff)")
      let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: false))
      // The connection drops as the guest goes down: any exit status is fine.
      _ = try? communicator.execute("sudo -n systemctl poweroff || sudo -n poweroff") { _, _ in }
      communicator.close()
      if try waitForPowerOff(domain, seconds: machine.gracefulHaltTimeoutSeconds) {
        return reporter.step(name, "powered off")
      }
    }
    if !force, status == .running || status == .shuttingDown {
      reporter.step(name, "asking the guest to shut down (ACPI)")
      // A refused ACPI request has nothing to wait for.
      if (try? hypervisor.requestShutdown(domain: domain)) != nil,
        try waitForPowerOff(domain, seconds: machine.gracefulHaltTimeoutSeconds)
      {
        return reporter.step(name, "powered off")
      }
    }
    reporter.step(name, "forcing power-off")
    try hypervisor.forceOff(domain: domain)
    reporter.step(name, "powered off")
  }

  func waitForPowerOff(_ domain: String, seconds: Double) throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
      let status = try hypervisor.status(domain: domain)
      if status == .poweroff || status == .notCreated || status == .crashed { return true }
      try interrupt.sleep(0.5)
    } while Date() < deadline
    return false
  }

  /// `caravan destroy`: powers off and removes each machine's domain, disks,
  /// state and key; the box volume stays. Idempotent, and thorough: disks of a
  /// domain removed by hand go too. A machine made on another libvirt URI is
  /// refused (its state kept), not forgotten; the key copy of a machine that is
  /// not on this URI is kept (`releaseMachineHome`).
  public func destroy(_ machines: [MachineSpec]) throws {
    for machine in machines.reversed() {
      let name = machine.name
      let domain = project.domainName(for: name)
      try track(name, .destroy) {
        let state = try reconcile(machine)
        // Whether this URI has the machine (its domain, or its disk alone): the key copy
        // belongs to it, unless the machine is on another URI too.
        let removedMachine = try state.status != .notCreated || hypervisor.diskExists(domain: domain)
        if state.status == .notCreated {
          reporter.step(name, removedMachine ? "not created; removing its disk" : "not created")
        } else {
          if state.status != .poweroff && state.status != .saved {
            reporter.step(name, "forcing power-off")
            try track(name, .powerOff) { try hypervisor.forceOff(domain: domain) }
          }
          reporter.step(name, "removing domain '\(domain)' and its disk")
        }
        // Also without a domain: an overlay left by a kill before define, or
        // by `virsh undefine` without its storage.
        let kept = try hypervisor.remove(domain: domain, keepLogs: false, keepVolumes: machine.keptVolumes)
        for path in kept {
          reporter.step(
            name,
            "keeping volume '\(path)' (`keep: true`): the machine's next `up` attaches it again; `virsh -c \(hypervisor.uri) vol-delete \(path)` removes it"
          )
        }
        if let record = state.record { closeSharedConnection(machine, record: record) }
        try project.removeMachineState(name)
        try releaseMachineHome(name, removedMachine: removedMachine)
      }
    }
    // Networks of the project that no domain uses any more: the last machine on each takes it along.
    if let last = machines.first {
      try track(last.name, .removeNetworks) { try removeUnusedNetworks(reportingAs: last.name) }
    }
    // The project's other domains (machines renamed or removed from the Machinefile) are left alone
    // but named, so nothing is leaked silently.
    let known = Set(project.spec.machines.map { project.domainName(for: $0.name) })
    for orphan in try hypervisor.domains(ofProject: project.root) where !known.contains(orphan) {
      // A warm-state guest a killed `up` left: it and its unfinished state go.
      if orphan.hasPrefix(Lifecycle.warmTemplatePrefix) {
        reporter.step(
          machines.first?.name ?? "default", "removing '\(orphan)', a warm-state guest left by an interrupted `up`")
        try warmStates.removeWarmTemplate(orphan)
        continue
      }
      reporter.warning(
        "domain '\(orphan)' belongs to this project but to no machine in the Machinefile; remove it with `virsh -c \(hypervisor.uri) destroy \(orphan); virsh -c \(hypervisor.uri) undefine \(orphan) --remove-all-storage`"
      )
    }
  }
}
