import Foundation
import Host
import Spec
import Support

extension Lifecycle {
  /// `caravan port`: the forwards of a running machine as `up` bound them, SSH
  /// first, read from its record.
  public func forwards(of machine: MachineSpec) throws -> [ResolvedForward] {
    let record = try runningRecord(machine, for: "show the ports of")
    var forwards = record.forwards
    if !forwards.contains(where: { $0.host == record.sshPort }) {
      forwards.insert(
        ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: record.sshPort, guest: machine.ssh.port), at: 0)
    }
    return forwards
  }

  /// `caravan port`: the running machine's displays (`libvirt { graphics }`).
  public func displays(of machine: MachineSpec) throws -> [Display] {
    let record = try runningRecord(machine, for: "show the ports of")
    return try hypervisor.displays(domain: record.domainName)
  }

  /// `caravan ssh-config`: how `caravan ssh` reaches a running machine, without
  /// a shared connection (a config file outlives this command).
  public func sshConfigEndpoint(of machine: MachineSpec) throws -> SSHEndpoint {
    let record = try runningRecord(machine, for: "write the SSH config of")
    return try endpoint(for: machine, record: record, shared: false)
  }
}

extension Lifecycle {
  /// How `up` chooses host ports for `domain`'s forwards, never one in `avoided`.
  ///
  /// On this machine, a port is free when a probe socket can bind it now. A remote
  /// libvirt's host cannot be probed from here: there a port is free unless another
  /// Caravan domain of that libvirt that is running (or paused) forwards it, as its
  /// own definition says. A port some other program holds on that host shows as
  /// QEMU's failure to bind it at start; `createOrBoot` then avoids it and tries again.
  func portAllocator(for domain: String, avoiding avoided: Set<Int> = []) throws -> PortAllocator {
    guard try LibvirtURI.jump(for: hypervisor.uri) != nil else {
      return PortAllocator { transport, ip, port in
        !avoided.contains(port) && PortAllocator.canBind(transport, ip, port)
      }
    }
    let holding: [MachineStatus] = [.running, .paused, .shuttingDown, .suspended]
    var used: Set<String> = []
    for other in try hypervisor.caravanDomains() where other.domain != domain && holding.contains(other.status) {
      for forward in try hypervisor.facts(domain: other.domain)?.forwards ?? [] {
        used.insert("\(forward.transport) \(forward.host)")
      }
    }
    return PortAllocator { transport, _, port in !avoided.contains(port) && !used.contains("\(transport) \(port)") }
  }

  /// The host port QEMU could not bind when `domain` failed to start or come back,
  /// from libvirt's error or else from QEMU's log of that start. libvirt quotes
  /// QEMU's words ("process exited while connecting to monitor: … Could not set up
  /// host forwarding rule …") from that log; when virtlogd had not written them yet
  /// (a busy host), it says only "failed to connect to monitor socket: Connection
  /// refused", and the log has them a moment later.
  func unboundPort(after error: Error, domain: String) -> Int? {
    let message = "\(error)"
    if let port = Lifecycle.unboundPort(in: message) { return port }
    guard message.contains("monitor") else { return nil }
    for attempt in 0..<10 {
      if attempt > 0 { usleep(200_000) }
      if let log = hypervisor.startLog(domain: domain), let port = Lifecycle.unboundPort(in: log) { return port }
    }
    return nil
  }

  /// The host port of the forward QEMU could not bind, from libvirt's start error
  /// ("Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'"); nil for any other error.
  static func unboundPort(in message: String) -> Int? {
    guard let rule = message.range(of: "host forwarding rule '") else { return nil }
    let text = message[rule.upperBound...].prefix { $0 != "'" }
    guard let dash = text.firstIndex(of: "-") else { return nil }
    return Int(text[..<dash].split(separator: ":").last ?? "")
  }
}

extension Lifecycle {
  /// Brings back `state` (saved memory, a snapshot) with `attempt`. Its forwards
  /// are fixed in it, and another program (another project's machine, another
  /// user's) may have taken one of their host ports since, or in the instant a
  /// snapshot's revert restarts QEMU. When QEMU cannot bind one, that forward
  /// moves to a free port (auto-correct, as `up` does; refused for a forward
  /// whose `auto_correct` is false), in the state and the definition, and
  /// `attempt` runs again: a few times at most. Afterwards the record says the
  /// ports the machine has now. Returns that record.
  @discardableResult
  func bringBack(
    _ machine: MachineSpec, record: MachineRecord, from state: KeptState, _ attempt: () throws -> Void
  ) throws -> MachineRecord {
    var avoided: Set<Int> = []
    while true {
      do {
        try attempt()
        break
      } catch {
        guard avoided.count < 5, let busy = unboundPort(after: error, domain: record.domainName) else { throw error }
        let kept = try savedStates.forwards(domain: record.domainName, in: state)
        guard let index = kept.firstIndex(where: { $0.host == busy }) else { throw error }
        avoided.insert(busy)
        let from = kept[index]
        // The machine's other forwards are not bound now (its QEMU did not start): not those either.
        var allocator = try portAllocator(for: record.domainName, avoiding: avoided.union(kept.map(\.host)))
        let configured = machine.forwards.first {
          $0.transport == from.transport && $0.hostIP == from.hostIP && $0.guest == from.guest
        }
        let what = index == 0 ? "SSH" : "forward \(from.host) -> \(from.guest)"
        let port = try allocator.allocate(
          from.transport, hostIP: from.hostIP, wanted: busy,
          autoCorrect: index == 0 || configured?.autoCorrect != false,
          what: what)
        reporter.step(
          machine.name,
          "host port \(from.hostIP):\(busy) for \(what) was taken by another program; moving it to \(port)")
        let to = ResolvedForward(transport: from.transport, hostIP: from.hostIP, host: port, guest: from.guest)
        try savedStates.moveForward(domain: record.domainName, in: state, from: from, to: to)
      }
    }
    return try recordingLiveForwards(machine, record: record)
  }

  /// `record` with the forwards the domain is defined with now (SSH first), saved
  /// when they differ from what it said: a snapshot brings back the ports it was
  /// taken with, and a forward may have moved.
  func recordingLiveForwards(_ machine: MachineSpec, record: MachineRecord) throws -> MachineRecord {
    guard let live = try hypervisor.facts(domain: record.domainName)?.forwards, let ssh = live.first,
      live != record.forwards || ssh.host != record.sshPort
    else { return record }
    var record = record
    record.forwards = live
    record.sshPort = ssh.host
    try saveProgress(record, for: machine.name)
    return record
  }
}

extension Lifecycle {
  /// Starts a throw-away guest of `plan` (a box's warm-state guest, `package`'s copy)
  /// with SSH forwarded from a free port chosen under the ports lock every `up` takes,
  /// so no machine gets that port; returns the port. A port another user's program
  /// took before QEMU bound it is avoided: `discard` removes what the attempt made, and
  /// the next port is tried.
  func startThrowaway(
    _ plan: inout MachinePlan, guestPort: Int, as name: String, what: String, step: Step,
    saying: (Int) -> String, start: (MachinePlan) throws -> Void, discard: () throws -> Void
  ) throws -> Int {
    var avoided: Set<Int> = []
    while true {
      do {
        let portLock = try FileLock(path: CaravanPaths.runtime(environment: environment) + "/ports.lock")
        defer { portLock.unlock() }
        var allocator = try portAllocator(for: plan.domainName, avoiding: avoided)
        let port = try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: 2222, autoCorrect: true, what: what)
        plan.forwards = [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: port, guest: guestPort)]
        reporter.step(name, saying(port))
        let started = plan
        try track(name, step, detail: plan.domainName) { try start(started) }
        return port
      } catch {
        guard try avoidBusyPort(error, domain: plan.domainName, forwards: plan.forwards, avoided: &avoided, as: name)
        else { throw error }
        try discard()
      }
    }
  }
}
