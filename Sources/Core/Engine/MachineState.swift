import Support

/// What a user sees in `status`, derived from libvirt.
public enum MachineStatus: Equatable, Sendable, CustomStringConvertible {
  case notCreated, running, poweroff, paused, shuttingDown, crashed, suspended, unknown
  /// Stopped with its memory saved to disk (`caravan suspend`, libvirt managed save);
  /// `caravan resume` or `up` continues it where it was.
  case saved

  public var description: String {
    switch self {
    case .notCreated: return "not created"
    case .running: return "running"
    case .poweroff: return "poweroff"
    case .paused: return "paused"
    case .shuttingDown: return "shutting down"
    case .crashed: return "crashed"
    case .suspended: return "suspended"
    case .unknown: return "unknown"
    case .saved: return "saved"
    }
  }
}

/// A machine as a command finds it, once `.caravan/` has been compared with
/// libvirt (which is the truth): each case carries what is known in that state.
public enum MachineState: Sendable {
  /// libvirt has no domain for it (stale state, if any, was cleared).
  case notCreated
  /// A domain Caravan made, with the record that says how to reach it.
  case tracked(MachineStatus, MachineRecord)
  /// A domain of the machine's name without a matching record: `.caravan/` was
  /// deleted, or the domain was made anew outside Caravan.
  case untracked(MachineStatus)

  public var status: MachineStatus {
    switch self {
    case .notCreated: return .notCreated
    case .tracked(let status, _), .untracked(let status): return status
    }
  }

  /// The record, if Caravan tracks this machine.
  public var record: MachineRecord? {
    if case .tracked(_, let record) = self { return record }
    return nil
  }
}

/// Errors for a command that makes no sense in the machine's state, in one voice:
/// "cannot ssh into machine 'web': it is not created; run `caravan up web`".
public struct MachineStateError {
  public var machine: String
  /// How the user names the machine on the command line ("" for a project's only machine).
  public var argument: String
  /// What could not be done: "ssh into", "provision".
  public var action: String

  public init(machine: String, argument: String, action: String) {
    self.machine = machine
    self.argument = argument
    self.action = action
  }

  public func notRunning(_ status: MachineStatus) -> CaravanError {
    let fix: String
    switch status {
    case .notCreated, .poweroff, .crashed: fix = "run `caravan up\(argument)`"
    case .saved, .paused: fix = "resume it with `caravan resume\(argument)`"
    default: fix = "resume or start it with `caravan up\(argument)`"
    }
    return CaravanError(.conflict, "cannot \(action) machine '\(machine)': it is \(status); \(fix)")
  }

  public func untracked(domain: String, stateDirectory: String) -> CaravanError {
    CaravanError(
      .conflict,
      "cannot \(action) machine '\(machine)': libvirt has its domain '\(domain)' but \(stateDirectory) has no state for it, so its SSH key is unknown",
      hint: "Run `caravan destroy -f\(argument)` and then `caravan up\(argument)` to make it anew.")
  }
}
