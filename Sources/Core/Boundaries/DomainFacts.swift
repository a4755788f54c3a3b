import Boxes
import Foundation
import Spec
import Support

/// How far a machine's first `up` got, kept in the domain itself (libvirt is the
/// truth), so a machine whose `.caravan/` state is lost can be adopted as it was.
public struct MachineProgress: Sendable, Equatable {
  public var keyReplaced: Bool
  public var provisioned: [String]
  public var firstUp: FirstUp
  public init(keyReplaced: Bool, provisioned: [String], firstUp: FirstUp) {
    self.keyReplaced = keyReplaced
    self.provisioned = provisioned
    self.firstUp = firstUp
  }
}

/// What libvirt knows of a domain Caravan made: enough to rebuild its record.
public struct DomainFacts: Sendable, Equatable {
  public var uuid: String
  public var projectRoot: String
  public var machineName: String
  public var boxName: String
  public var boxVersion: String
  /// SSH first, as `up` defined them.
  public var forwards: [ResolvedForward]
  public var accelerator: Accelerator
  /// nil when the domain carries none (made by an older Caravan).
  public var progress: MachineProgress?
  public init(
    uuid: String, projectRoot: String, machineName: String, boxName: String, boxVersion: String,
    forwards: [ResolvedForward], accelerator: Accelerator, progress: MachineProgress?
  ) {
    self.uuid = uuid
    self.projectRoot = projectRoot
    self.machineName = machineName
    self.boxName = boxName
    self.boxVersion = boxVersion
    self.forwards = forwards
    self.accelerator = accelerator
    self.progress = progress
  }
}

/// What the libvirt host has for guests: its logical CPUs and the memory it could
/// give them now (free plus page cache; nil when libvirt cannot say).
public struct HostResources: Sendable, Equatable {
  public var cpus: Int
  public var availableMemoryMiB: Int?
  public init(cpus: Int, availableMemoryMiB: Int?) {
    self.cpus = cpus
    self.availableMemoryMiB = availableMemoryMiB
  }
}

/// A domain Caravan made, found by its metadata: which project folder and
/// machine it belongs to, and its live state.
public struct CaravanDomain: Sendable, Equatable {
  public var domain: String
  public var projectRoot: String
  public var machine: String
  public var status: MachineStatus

  public init(domain: String, projectRoot: String, machine: String, status: MachineStatus) {
    self.domain = domain
    self.projectRoot = projectRoot
    self.machine = machine
    self.status = status
  }
}
