import Foundation
import Spec
import Support

/// What an `up` made, and so what its failure may remove: Caravan never deletes
/// what it did not make in this command.
enum MadeByUp {
  /// Nothing: the machine was there (or `--no-destroy-on-error`).
  case nothing
  /// The domain only, on the machine's disk that was in the pool before (`virsh undefine`).
  case domain
  /// The whole machine: its domain and its disk.
  case machine
}

extension Lifecycle {
  /// The machine's disk when it is in the pool without its domain (`virsh undefine`):
  /// the record its mark keeps (what was done on it: the key, the provisioners that
  /// ran, its box version), or, without a mark, one that assumes nothing was done.
  /// nil when there is no such disk.
  func keptDisk(_ machine: MachineSpec) throws -> MachineRecord? {
    let name = machine.name
    let domain = project.domainName(for: name)
    guard try hypervisor.diskExists(domain: domain) else { return nil }
    reporter.step(name, "reusing the disk of machine '\(name)' (its domain '\(domain)' is gone from libvirt)")
    guard var mark = loadMark(name) else {
      reporter.step(name, "its disk carries no record of what was done on it: its key and provisioners are due")
      return MachineRecord(
        domainName: domain, domainUUID: "", libvirtURI: hypervisor.uri, boxName: machine.box?.name ?? "",
        boxVersion: "", sshPort: 2222, forwards: [], accelerator: .tcg)  // all but the name made anew at define
    }
    mark.domainName = domain
    // A disk that only accepts the machine's own key is of no use without it: said before anything is made.
    if mark.keyReplaced, machine.ssh.privateKey == nil {
      try restoreMachineKey(name)
      guard FileSystem.exists(project.keyPath(name)) else {
        throw CaravanError(
          .notFound,
          "the disk of machine '\(name)' accepts only the machine's own SSH key, and neither \(project.keyPath(name)) nor its copy \(keyCopyPath(name)) is there",
          hint:
            "Put the key back at \(project.keyPath(name)) (with its .pub), or remove the disk with `caravan destroy -f\(argument(for: machine))` and start again."
        )
      }
    }
    if !mark.provisioned.isEmpty {
      reporter.step(name, "its provisioners that ran on that disk: \(mark.provisioned.joined(separator: ", "))")
    }
    return mark
  }

  /// What `createOrBoot` starts from: the machine's record (`known`, nil for a new
  /// machine) as its disk has it. A warm start cut short before its guest ran (a
  /// killed `up`: nothing but the box's saved state on that disk) is removed and made
  /// again from the start; a disk deleted by hand (`virsh vol-delete`) is made anew from
  /// the box, so its key, hostname and provisioners are due again.
  func checkedDisk(_ machine: MachineSpec, _ known: MachineRecord?) throws -> MachineRecord? {
    let name = machine.name
    let domain = project.domainName(for: name)
    guard var record = known else { return nil }
    if record.firstUp == .identityPending {
      reporter.step(name, "its warm start was interrupted; removing it and starting again")
      try hypervisor.remove(domain: domain, keepLogs: false)
      try project.removeMachineState(name)
      return nil
    }
    if try !hypervisor.diskExists(domain: domain) {
      reporter.step(name, "its disk is gone from the storage pool; making a new one from the box")
      record.keyReplaced = false
      record.provisioned = []
      record.firstUp = .unfinished
    }
    return record
  }

  /// Runs `body`; when it fails, removes what this `up` made (`made`), keeping the
  /// console log, and says so: a whole new machine, or only the domain it defined on
  /// the machine's kept disk (the disk stays, with its mark, for the next `up`).
  func removingOnError<T>(_ machine: MachineSpec, made: MadeByUp, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch {
      let domain = project.domainName(for: machine.name)
      guard made != .nothing else { throw error }
      // Nothing but a network to remove before the domain is defined (no box, a busy port…).
      let defined = (try? hypervisor.status(domain: domain)) != .notCreated
      // Stopped by an interrupt, a defined machine is kept: the user is told what it was
      // left as, and the next `up` finishes it.
      if defined && interrupt.requested { throw error }
      if defined && made == .machine {
        reporter.step(machine.name, "the first `up` failed; removing what it made (--no-destroy-on-error keeps it)")
        _ = try? hypervisor.remove(domain: domain, keepLogs: true, keepVolumes: machine.keptVolumes)
        try? project.removeMachineState(machine.name)
        try? releaseMachineHome(machine.name, removedMachine: true)
      } else if defined {
        reporter.step(
          machine.name,
          "the `up` failed; removing the domain it defined and keeping the machine's disk (--no-destroy-on-error keeps both)"
        )
        try? hypervisor.undefine(domain: domain)
        try? project.forgetRecord(machine.name)
      }
      // A network made for the machine goes with it, also when its domain was not defined yet.
      if !machine.networks.isEmpty { try? removeUnusedNetworks(reportingAs: machine.name) }
      let log = hypervisor.consoleLogPath(domain: domain)
      let kept =
        made == .domain
        ? "The machine's disk is kept, with what was done on it: `caravan up\(argument(for: machine))` uses it again once the problem is fixed (`--no-destroy-on-error` keeps the domain to look at)"
        : "The machine was removed (`caravan up --no-destroy-on-error` keeps a failed machine to look at)"
      guard defined else { throw error }
      guard var failure = error as? CaravanError else {
        throw CaravanError(
          .hypervisor, "machine '\(machine.name)': \(error)", hint: "\(kept); its serial console log is \(log).",
          cause: error)
      }
      failure.hint =
        "\(kept); its serial console log is \(log)."
        + (failure.kind == .timeout ? " Raise `boot_timeout` if it is only slow." : "")
      throw failure
    }
  }
}
