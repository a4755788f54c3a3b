import Foundation
import Spec
import Support

extension Lifecycle {
  enum ProvisionMode { case none, pending, alwaysOnly, all }

  /// `caravan provision`: runs the machine's provisioners again (all but `run: never`,
  /// or the ones named, by name or type).
  public func provision(_ machines: [MachineSpec], only names: [String]) throws {
    for machine in machines {
      try track(machine.name, .provision) {
        var record = try runningRecord(machine, for: "provision")
        let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
        // The shared connection stays up for ControlPersist (60 s): the next command reuses it.
        let only = names.isEmpty ? nil : try provisionerNames(machine, matching: names)
        try runProvisioners(machine, record: &record, communicator: communicator, mode: .all, only: only)
      }
    }
  }

  /// The names of the machine's provisioners that `wanted` (names or types,
  /// as `--provision-with` takes them) picks; a word that picks none is an error.
  func provisionerNames(_ machine: MachineSpec, matching wanted: [String]) throws -> Set<String> {
    var names = Set<String>()
    for word in wanted {
      let picked = machine.provisioners.filter { $0.name == word || $0.kind.typeName == word }
      guard !picked.isEmpty else {
        let known = machine.provisioners.map { "\($0.name) (\($0.kind.typeName))" }.joined(separator: ", ")
        throw CaravanError(
          .invalidInput, "machine '\(machine.name)' has no provisioner named '\(word)'",
          hint: known.isEmpty ? "It has no provisioners." : "Its provisioners: \(known).")
      }
      names.formUnion(picked.map(\.name))
    }
    return names
  }

  func runProvisioners(
    _ machine: MachineSpec, record: inout MachineRecord, communicator: Communicator,
    mode: ProvisionMode, only: Set<String>? = nil
  ) throws {
    guard mode != .none else { return }
    var ranAny = false
    for provisioner in machine.provisioners {
      if let only {
        guard only.contains(provisioner.name) else { continue }
      } else {
        switch (mode, provisioner.run) {
        case (_, .never): continue
        case (.pending, .once): if record.provisioned.contains(provisioner.name) { continue }
        case (.alwaysOnly, .once): continue
        default: break
        }
      }
      guard provisioners.support.provisionerTypes.contains(provisioner.kind.typeName) else {
        // Named by `up` as not supported yet; asked for by name, it is an error.
        if only != nil {
          throw CaravanError(
            .invalidInput,
            "provisioner '\(provisioner.name)' of machine '\(machine.name)' is a \(provisioner.kind.typeName) provisioner, which Caravan does not run yet",
            hint: "Use a shell provisioner for now.")
        }
        continue
      }
      ranAny = true
      try track(machine.name, .provision, detail: provisioner.name) {
        reporter.step(machine.name, "running provisioner '\(provisioner.name)'")
        try provisioners.run(
          provisioner, machine: machine, projectRoot: project.root, running: runningMachines(with: machine),
          on: communicator, reporter: reporter)
      }
      // Recorded only now: the provisioner's round trip ended with a `sync` in the guest,
      // so its work is on the guest's disk (a hard power-off from here on keeps it).
      if !record.provisioned.contains(provisioner.name) {
        record.provisioned.append(provisioner.name)
        try saveProgress(record, for: machine.name)
        // For the fault-injection tests: `provisioned:end` is "right after the record".
        faultPoint(.provisioned, .end)
      }
    }
    if !ranAny && mode == .pending && !machine.provisioners.isEmpty {
      reporter.step(machine.name, "already provisioned; `caravan provision` runs the provisioners again")
    }
  }

  /// The project's machines that run and have finished their first `up` (one still coming up
  /// beside it in a parallel `up` may not answer yet), and `machine` itself, each as SSH
  /// reaches it; asked of libvirt only when a provisioner wants them.
  func runningMachines(with machine: MachineSpec) -> RunningMachines {
    RunningMachines { [self] in
      try project.spec.machines.compactMap { other in
        guard try hypervisor.status(domain: project.domainName(for: other.name)) == .running,
          let record = try project.loadRecord(other.name),
          other.name == machine.name || record.firstUp == .finished
        else { return nil }
        return RunningMachine(name: other.name, endpoint: try endpoint(for: other, record: record, shared: true))
      }
    }
  }
}
