import Foundation
import Spec
import Support

/// The step a machine was in when an interrupt stopped it.
struct StoppedStep: Sendable, Equatable {
  var step: Step
  var detail: String?
}

extension Lifecycle {
  /// Runs `command`'s work on `machines`. When an interrupt (Ctrl-C, SIGTERM) stopped
  /// it, or came while it ran, throws `.interrupted` saying, machine by machine, what
  /// was left and how to go on: from libvirt (is there a domain, does it run), the
  /// record (how far its first `up` got, which provisioners ran) and the step it was
  /// stopped in.
  public func stoppable<T>(_ command: String, _ machines: [MachineSpec], _ body: () throws -> T) throws -> T {
    let result: T
    do {
      result = try body()
    } catch {
      guard interrupt.requested else { throw error }
      throw leftBehind(command, machines, cause: error)
    }
    guard interrupt.requested else { return result }
    throw leftBehind(command, machines, cause: nil)
  }

  /// The `.interrupted` error for `command` on `machines`, as they are now.
  func leftBehind(_ command: String, _ machines: [MachineSpec], cause: Error?) -> CaravanError {
    let steps = stoppedSteps.withLock { $0 }
    let lines = machines.map { machine -> String in
      let domain = project.domainName(for: machine.name)
      let status = (try? hypervisor.status(domain: domain)) ?? .unknown
      let record = status == .notCreated ? nil : try? project.loadRecord(machine.name)
      return LeftBehind(
        command: command, machine: machine.name, argument: argument(for: machine), status: status, record: record,
        stopped: steps[machine.name], acceptsInsecureKey: machine.ssh.insertKey && machine.ssh.privateKey == nil
      ).text
    }
    let text = lines.count == 1 ? "interrupted: " + lines[0] : (["interrupted:"] + lines).joined(separator: "\n  ")
    return CaravanError(.interrupted, text, cause: cause)
  }
}

/// What an interrupted command left of one machine, in one sentence with the
/// commands that go on from there.
struct LeftBehind {
  var command: String
  var machine: String
  /// How the user names it after a command: "" for a project's only machine.
  var argument: String
  var status: MachineStatus
  var record: MachineRecord?
  var stopped: StoppedStep?
  /// Whether `up` replaces the box's insecure key (`insert_key`, no `private_key`).
  var acceptsInsecureKey: Bool

  var up: String { "`caravan up\(argument)`" }
  var destroy: String { "`caravan destroy -f\(argument)`" }
  var name: String { "machine '\(machine)'" }

  var text: String {
    guard status != .notCreated else {
      return command == "destroy" ? "\(name) is removed" : "\(name) is not created: \(up) makes it"
    }
    guard let record else {
      return "\(name) is \(status), but .caravan/ has no state for it: \(destroy) removes it"
    }
    if record.firstUp != .finished { return unfinishedUp(record) }
    if let provisioner = stoppedProvisioner {
      return
        "\(name) is \(status); its provisioner '\(provisioner)' was stopped and is not recorded as run: `caravan provision\(argument) --provision-with \(provisioner)` runs it again"
    }
    switch (command, status) {
    case ("halt", .poweroff), ("suspend", .saved): return "\(name) is \(status)"
    case ("halt", _): return "\(name) is still \(status): `caravan halt\(argument)` stops it"
    case ("destroy", _): return "\(name) is \(status) and not removed: \(destroy) removes it"
    case ("suspend", _): return "\(name) is \(status): `caravan suspend\(argument)` saves it"
    case (_, .poweroff): return "\(name) is powered off\(stepText): \(up) starts it"
    case (_, .saved): return "\(name) is suspended\(stepText): `caravan resume\(argument)` continues it"
    case (_, .running) where stopped?.step == .sync:
      return "\(name) is running; its synced folders were not all copied: `caravan rsync\(argument)` copies them again"
    default: return "\(name) is \(status)\(stepText)"
    }
  }

  /// A first `up` that did not finish: the next `up` finishes it.
  func unfinishedUp(_ record: MachineRecord) -> String {
    let state: String
    switch status {
    case .running where record.firstUp == .identityPending:
      state = "is running from its box's warm state but has no identity of its own yet"
    case .running where record.provisioned.isEmpty:
      state = "is running but not provisioned yet"
    case .running:
      state =
        "is running but not fully provisioned yet (done: \(record.provisioned.map { "'\($0)'" }.joined(separator: ", ")))"
    case .poweroff: state = "is created but not started yet"
    default: state = "is \(status), and its first `up` did not finish"
    }
    let key =
      acceptsInsecureKey && !record.keyReplaced
      ? ", and it still accepts the box's insecure key (anyone on this host can log in through 127.0.0.1:\(record.sshPort))"
      : ""
    return "\(name) \(state)\(key): \(up) finishes it, \(destroy) removes it"
  }

  /// The provisioner that was running when the command stopped.
  var stoppedProvisioner: String? {
    guard let stopped, stopped.step == .provision else { return nil }
    return stopped.detail
  }

  /// " (stopped while STEP)" for a step the user would not guess from the status.
  var stepText: String {
    guard let stopped, stopped.step.rawValue != command else { return "" }
    return " (stopped during its '\(stopped.step)' step)"
  }
}
