import Foundation
import Spec
import Support

extension Lifecycle {
  enum ProvisionMode { case none, pending, alwaysOnly, all }

  /// `caravan provision`: runs the machine's provisioners again (all but `run: never`,
  /// or the ones named).
  public func provision(_ machines: [MachineSpec], only names: [String]) throws {
    for machine in machines {
      var record = try runningRecord(machine, for: "provision")
      let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
      defer { communicator.close() }
      if names.isEmpty {
        try runProvisioners(machine, record: &record, communicator: communicator, mode: .all)
      } else {
        for wanted in names where !machine.provisioners.contains(where: { $0.name == wanted }) {
          let known = machine.provisioners.map(\.name).joined(separator: ", ")
          throw CaravanError(
            .invalidInput, "machine '\(machine.name)' has no provisioner named '\(wanted)'",
            hint: known.isEmpty ? "It has no provisioners." : "Its provisioners: \(known).")
        }
        try runProvisioners(machine, record: &record, communicator: communicator, mode: .all, only: Set(names))
      }
    }
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
      if case .shell = provisioner.kind {} else { continue }  // named as not supported by `up`
      ranAny = true
      reporter.step(machine.name, "running provisioner '\(provisioner.name)'")
      try provisioners.run(
        provisioner, machine: machine, projectRoot: project.root, on: communicator, reporter: reporter)
      if !record.provisioned.contains(provisioner.name) {
        record.provisioned.append(provisioner.name)
        try project.saveRecord(record, for: machine.name)
      }
    }
    if !ranAny && mode == .pending && !machine.provisioners.isEmpty {
      reporter.step(machine.name, "already provisioned; `caravan provision` runs the provisioners again")
    }
  }
}
