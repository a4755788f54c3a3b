import Boxes
import Foundation
import Spec
import Support

extension Lifecycle {
  /// `caravan up`: create or boot each machine, wait for SSH, replace the
  /// insecure key once, run provisioners. `provision`: nil runs `once`
  /// provisioners the first time, true runs them all again, false runs none.
  public func up(_ machines: [MachineSpec], provision: Bool?) throws {
    for machine in machines {
      try up(machine, provision: provision)
    }
  }

  func up(_ machine: MachineSpec, provision: Bool?) throws {
    let name = machine.name
    for setting in support.unsupported(in: machine) {
      let place =
        setting.location.line > 0
        ? " (\((project.machinefilePath as NSString).lastPathComponent):\(setting.location))" : ""
      reporter.warning("machine '\(name)': '\(setting.name)'\(place) is not supported yet and is ignored")
    }
    let state = try reconcile(machine)
    let status = state.status
    var record: MachineRecord
    switch state {
    case .untracked:
      throw stateErrors(machine, action: "bring up").untracked(
        domain: project.domainName(for: name), stateDirectory: project.stateDirectory)
    case .tracked(.running, let known):
      reporter.step(name, "already running")
      record = known
    case .notCreated, .tracked(.poweroff, _), .tracked(.crashed, _), .tracked(.shuttingDown, _):
      if status == .shuttingDown || status == .crashed {
        try hypervisor.forceOff(domain: project.domainName(for: name))
      }
      record = try createOrBoot(machine, existing: state.record)
    case .tracked:
      throw CaravanError(
        .conflict, "machine '\(name)' is \(status) in libvirt; `up` does not resume it yet",
        hint:
          "Resume or power it off with virsh (`virsh -c \(hypervisor.uri) destroy \(project.domainName(for: name))`), then run `caravan up` again."
      )
    }

    let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
    defer { communicator.close() }
    // Also when it was already running: an `up` stopped half way (Ctrl-C) may
    // have left a guest that is still booting.
    try waitForSSH(machine, record: record, communicator: communicator)
    if !record.keyReplaced && machine.ssh.insertKey && machine.ssh.privateKey == nil {
      let keyPath = project.keyPath(name)
      reporter.step(name, "replacing the box's insecure key with a new ed25519 key")
      if !FileSystem.exists(keyPath) {
        try communicators.generateKey(at: keyPath, comment: "caravan \(name) \(project.root)")
      }
      try communicator.replaceKey(withPrivateKeyAt: keyPath)
      record.keyReplaced = true
      try project.saveRecord(record, for: name)
    }
    if status != .running, let hostname = machine.hostname {
      reporter.step(name, "setting hostname '\(hostname)'")
      _ = try communicator.run(Lifecycle.hostnameCommand(hostname), what: "setting the hostname")
    }
    try runProvisioners(
      machine, record: &record, communicator: communicator,
      mode: provision == false ? .none : provision == true ? .all : (status == .running ? .alwaysOnly : .pending))
    let key = record.keyReplaced ? project.keyPath(name) : (machine.ssh.privateKey ?? "the box's insecure key")
    reporter.step(
      name,
      "ready. `caravan ssh\(project.spec.machines.count > 1 ? " " + name : "")` logs in (ssh -p \(record.sshPort) -i \(key) \(machine.ssh.user)@127.0.0.1)"
    )
  }

  static func hostnameCommand(_ hostname: String) -> String {
    let short = hostname.split(separator: ".").first.map(String.init) ?? hostname
    return """
      sudo sh -c 'hostname \(hostname) && echo \(hostname) > /etc/hostname && \
      (grep -q "^127.0.1.1" /etc/hosts && sed -i "s/^127.0.1.1.*/127.0.1.1\\t\(hostname) \(short)/" /etc/hosts || echo "127.0.1.1\t\(hostname) \(short)" >> /etc/hosts)'
      """
  }

  /// Defines (first time) or redefines and starts the domain; returns the saved record.
  func createOrBoot(_ machine: MachineSpec, existing: MachineRecord?) throws -> MachineRecord {
    let name = machine.name
    let domain = project.domainName(for: name)
    let box = try resolveBox(machine, existing: existing)
    let choice = try hypervisor.chooseAccelerator(machine.libvirt.accel)
    reporter.step(name, "accelerator: \(choice.accelerator.rawValue) (\(choice.reason))")
    try hypervisor.importBox(box, pool: machine.libvirt.pool) { reporter.step(name, $0) }
    // Ports are chosen and bound (by QEMU, at start) under one lock for all of
    // this user's caravan processes, so parallel `up`s never pick the same port.
    // The box import above is outside it: one import holds up no other `up`.
    let portLock = try FileLock(path: CaravanPaths.runtime(environment: environment) + "/ports.lock")
    defer { portLock.unlock() }
    let forwards = try allocatePorts(machine, previous: existing)
    let restrict = ["1", "true", "yes"].contains(environment["CARAVAN_NAT_RESTRICT"]?.lowercased() ?? "")
    let plan = MachinePlan(
      domainName: domain, projectRoot: project.root, machineName: name, cpus: machine.cpus,
      memoryMiB: machine.memoryMiB, box: box, forwards: forwards, accelerator: choice.accelerator,
      network: .userMode(restricted: restrict), machineType: machine.libvirt.machineType,
      cpuMode: machine.libvirt.cpuMode, pool: machine.libvirt.pool)
    reporter.step(
      name,
      existing == nil
        ? "creating domain '\(domain)' from box '\(box.name)' (\(box.version)), \(machine.cpus) CPU, \(machine.memoryMiB) MiB"
        : "booting domain '\(domain)'")
    let uuid: String
    do {
      uuid = try hypervisor.define(plan) { reporter.step(name, $0) }
    } catch {
      if existing == nil { try? hypervisor.remove(domain: domain) }
      throw error
    }
    var record =
      existing
      ?? MachineRecord(
        domainName: domain, domainUUID: uuid, libvirtURI: hypervisor.uri,
        boxName: box.name, boxVersion: box.version, sshPort: forwards[0].host, forwards: [],
        accelerator: choice.accelerator.rawValue)
    record.domainUUID = uuid
    record.sshPort = forwards[0].host
    record.forwards = forwards.map(\.description)
    record.accelerator = choice.accelerator.rawValue
    try project.saveRecord(record, for: name)
    for (index, forward) in forwards.enumerated() {
      reporter.step(
        name, index == 0 ? "SSH: \(forward.hostIP):\(forward.host) -> \(forward.guest)" : "forward: \(forward)")
    }
    do {
      try hypervisor.start(domain: domain)
    } catch {
      let log = hypervisor.startLog(domain: domain).map { "\nQEMU said: \($0)" } ?? ""
      throw CaravanError(
        .hypervisor, "machine '\(name)' could not start: \(error)\(log)",
        hint:
          "Its console log is \(hypervisor.consoleLogPath(domain: domain)); `caravan destroy -f \(name)` removes it.",
        cause: error)
    }
    return record
  }

  func resolveBox(_ machine: MachineSpec, existing: MachineRecord?) throws -> InstalledBox {
    guard let wanted = machine.box else {
      throw CaravanError(
        .invalidInput, "machine '\(machine.name)' names no box",
        hint: "Add a line like `box \"caravan/debian-12\"` to \(project.machinefilePath).")
    }
    let all = try boxes.list().filter { $0.name == wanted.name }
    // A machine keeps the box version its disk was made from.
    if let existing, let same = all.first(where: { $0.version == existing.boxVersion && $0.name == existing.boxName }) {
      return same
    }
    let constraint = wanted.version
    if let newest = all.last(where: { constraint?.matches($0.version) ?? true }) { return newest }
    let wording = "box '\(wanted.name)'" + (wanted.version.map { " (version \($0))" } ?? "")
    guard let url = wanted.url else {
      let others = all.isEmpty ? "" : " Installed versions: \(all.map(\.version).joined(separator: ", "))."
      throw CaravanError(
        .notFound, "\(wording) is not installed",
        hint:
          "Add it with `caravan box add \(wanted.name) PATH/TO/FILE.box`, or give `url:` on the box line of the Machinefile.\(others)"
      )
    }
    reporter.step(machine.name, "\(wording) is not installed; adding it from \(url)")
    let installer = BoxInstaller(store: boxes, environment: environment)
    installer.report(to: reporter, as: machine.name)
    var request = BoxInstaller.Request(
      source: url, name: wanted.name, version: wanted.version?.text, checksum: wanted.checksum)
    request.versionIsConstraint = true
    return try installer.add(request)
  }

  func allocatePorts(_ machine: MachineSpec, previous: MachineRecord?) throws -> [ResolvedForward] {
    var allocator = PortAllocator()
    let wantedSSH = previous?.sshPort ?? 2222
    let ssh = try allocator.allocate(.tcp, hostIP: "127.0.0.1", wanted: wantedSSH, autoCorrect: true, what: "SSH")
    if ssh != wantedSSH && previous != nil {
      reporter.step(machine.name, "host port \(wantedSSH) for SSH is in use; using \(ssh)")
    }
    var result = [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: ssh, guest: machine.ssh.port)]
    for forward in machine.forwards {
      let port = try allocator.allocate(
        forward.transport, hostIP: forward.hostIP, wanted: forward.host,
        autoCorrect: forward.autoCorrect, what: "forward \(forward.host) -> \(forward.guest)")
      if port != forward.host {
        reporter.step(
          machine.name,
          "host port \(forward.hostIP):\(forward.host) is in use; forwarding \(port) -> \(forward.guest) instead")
      }
      result.append(
        ResolvedForward(transport: forward.transport, hostIP: forward.hostIP, host: port, guest: forward.guest))
    }
    return result
  }

  func waitForSSH(_ machine: MachineSpec, record: MachineRecord, communicator: Communicator) throws {
    let start = Date()
    let limit = machine.bootTimeoutSeconds
    var lastDetail = ""
    while true {
      let elapsed = Date().timeIntervalSince(start)
      reporter.progress(
        machine.name, "waiting for SSH on 127.0.0.1:\(record.sshPort) (\(Int(elapsed)) s of \(Int(limit)) s)")
      let probe = communicator.probe()
      if probe.ready {
        reporter.step(machine.name, "SSH is up after \(Int(Date().timeIntervalSince(start))) s")
        return
      }
      lastDetail = probe.detail
      let status = try hypervisor.status(domain: record.domainName)
      if status != .running {
        throw CaravanError(
          .hypervisor, "machine '\(machine.name)' stopped while booting (libvirt says \(status))",
          hint:
            "Its serial console log is \(hypervisor.consoleLogPath(domain: record.domainName)); `caravan destroy -f \(machine.name)` removes it."
        )
      }
      if Date().timeIntervalSince(start) >= limit {
        throw CaravanError(
          .timeout,
          "machine '\(machine.name)' did not answer SSH on 127.0.0.1:\(record.sshPort) as '\(machine.ssh.user)' within \(Int(limit)) s (last attempt: \(lastDetail))",
          hint:
            "The machine is left running so you can look: its serial console log is \(hypervisor.consoleLogPath(domain: record.domainName)). Raise `boot_timeout` if it is only slow; `caravan destroy -f \(machine.name)` removes it."
        )
      }
      Thread.sleep(forTimeInterval: 1)
    }
  }
}
