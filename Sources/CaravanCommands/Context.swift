import Boxes
import Core
import Foundation
import Host
import LibvirtDriver
import Machinefile
import Provisioning
import SSH
import Spec
import Support

/// Everything a project command needs, wired from the environment.
struct Context {
  let environment = ProcessInfo.processInfo.environment
  let project: Project

  /// Finds and loads the Machinefile with the `var` values `variables` gives; an invalid
  /// one throws `MachinefileError` (exit 65).
  init(_ variables: VariableOptions) throws {
    let cwd = FileManager.default.currentDirectoryPath
    guard let path = Machinefile.find(from: cwd, environment: environment) else {
      throw CaravanError(
        .notFound, "no Machinefile in \(cwd) or any folder above it",
        hint: "Write one (see README.md), or set CARAVAN_MACHINEFILE to its path.")
    }
    let spec = try Machinefile.load(
      path: path, shownAs: Machinefile.displayName(of: path, from: cwd), environment: environment,
      variables: variables.input)
    project = Project(root: (path as NSString).deletingLastPathComponent, machinefilePath: path, spec: spec)
  }

  /// What `up` acts on with the libvirt driver and the guest provisioner: the
  /// same as `Lifecycle.support` gives once they are connected.
  static let support = SettingSupport.engine.union(LibvirtHypervisor.support).union(GuestProvisioner.support)
    .union(FolderSync.support)

  /// The libvirt connection of the project's first machine (most projects have one).
  var uri: String {
    project.spec.machines.first.map(uri(of:)) ?? defaultLibvirtURI(configured: nil, environment: environment)
  }

  /// The libvirt connection `machine` is on: its own `libvirt { uri }` (or the project's),
  /// else CARAVAN_LIBVIRT_URI, else the user's default.
  func uri(of machine: MachineSpec) -> String { machine.libvirtURI(environment: environment) }

  func hypervisor() throws -> LibvirtHypervisor {
    try hypervisor(uri: uri)
  }

  /// The connection to `uri`, with the storage pool of the first machine on it.
  func hypervisor(uri: String) throws -> LibvirtHypervisor {
    try LibvirtHypervisor(
      uri: uri, pool: project.spec.machines.first { self.uri(of: $0) == uri }?.libvirt.pool,
      lockDirectory: CaravanPaths.home(environment: environment) + "/locks")
  }

  /// The connection of `machine`'s libvirt host.
  func hypervisor(for machine: MachineSpec) throws -> LibvirtHypervisor {
    try hypervisor(uri: uri(of: machine))
  }

  /// An engine for each machine on its own libvirt host's connection, made once per host.
  /// `events`: each writes events where `--events` or CARAVAN_EVENTS says.
  func engines(reporter: Reporter = ConsoleReporter(), events: LockOptions? = nil) -> (MachineSpec) throws -> Lifecycle
  {
    let made = EngineCache()
    return { machine in
      let uri = uri(of: machine)
      if let known = made.engines[uri] { return known }
      let hypervisor = try hypervisor(uri: uri)
      let engine =
        try events.map { try lifecycle(hypervisor, reporter: reporter, events: $0) }
        ?? lifecycle(hypervisor, reporter: reporter)
      made.engines[uri] = engine
      return engine
    }
  }

  /// `machines` by libvirt host, in the order each host first appears: a project may
  /// put machines on several hosts (`libvirt { uri }` in a machine), each reached on its own.
  func byHost(_ machines: [MachineSpec]) -> [(uri: String, machines: [MachineSpec])] {
    var groups: [(uri: String, machines: [MachineSpec])] = []
    for machine in machines {
      let uri = uri(of: machine)
      if let index = groups.firstIndex(where: { $0.uri == uri }) {
        groups[index].machines.append(machine)
      } else {
        groups.append((uri, [machine]))
      }
    }
    return groups
  }

  func lifecycle(_ hypervisor: Hypervisor, reporter: Reporter = ConsoleReporter()) -> Lifecycle {
    Lifecycle(
      project: project, hypervisor: hypervisor,
      communicators: OpenSSHFactory(keyDirectory: CaravanPaths.home(environment: environment) + "/keys"),
      provisioners: GuestProvisioner(), syncer: FolderSync(environment: environment),
      boxes: BoxStore(root: CaravanPaths.boxes(environment: environment)),
      reporter: reporter, environment: environment)
  }

  /// One `caravan` process changes a project at a time: `.caravan/lock`, exclusive.
  /// Its children (triggers' host commands) are told, so a `caravan ssh` they run does not
  /// wait for a lock their own parent holds.
  func lock(_ options: LockOptions) throws -> FileLock {
    do {
      return try projectLock(options)
    } catch let error as CaravanError where error.kind == .interrupted {
      throw Interrupt.stopped("interrupted while waiting for the other caravan command; nothing was changed")
    }
  }

  private func projectLock(_ options: LockOptions) throws -> FileLock {
    let lock = try FileLock(
      path: projectLockPath, wait: !options.noWait,
      waitNotice: { _ in
        printError("another caravan command is working on this project; waiting for it to finish (Ctrl-C to stop)")
      },
      busy: CaravanError(
        .conflict, "another caravan command is working on this project (lock: \(projectLockPath))",
        hint: "Wait for it to finish, or run again without --no-wait to wait for it."))
    setenv(Context.heldLockVariable, projectLockPath, 1)
    return lock
  }

  var projectLockPath: String { project.stateDirectory + "/lock" }

  /// Set, in a process holding the project lock (and so in its children), to the lock's path.
  static let heldLockVariable = "CARAVAN_PROJECT_LOCK_HELD"

  /// The project lock, shared, for `ssh` and `ssh-config` while they read the machines'
  /// state (they may adopt a machine or restore its key): any number of them at once,
  /// none while a command changes the project (`up`, `destroy`…), whose end they wait
  /// for. nil in a child of the lock's holder (a trigger), which must not wait for it.
  func sharedLock() throws -> FileLock? {
    guard ProcessInfo.processInfo.environment[Context.heldLockVariable] != projectLockPath else { return nil }
    return try FileLock(
      path: projectLockPath, shared: true,
      waitNotice: { _ in
        printError("another caravan command is changing this project; waiting for it to finish (Ctrl-C to stop)")
      })
  }

  /// Runs `body` on the chosen machines while holding the project lock, with the
  /// machines' triggers for `command` around it; an interrupt stops it at a safe point.
  /// `runsTriggers` false: the engine runs the command's triggers itself (`up`, per machine
  /// on its own worker).
  func changing(
    _ names: [String], lock options: LockOptions, command: String, autostartOnly: Bool = false,
    runsTriggers: Bool = true, _ body: (Lifecycle, [MachineSpec]) throws -> Void
  ) throws {
    let selected = try machines(names, autostartOnly: autostartOnly)
    let held = try lock(options)
    defer { withExtendedLifetime(held) {} }
    // Each libvirt host's machines on their own connection, one host after the other.
    let groups = byHost(selected)
    for group in groups.isEmpty ? [(uri: uri, machines: [])] : groups {
      let engine = try lifecycle(try hypervisor(uri: group.uri), events: options)
      // Ctrl-C or SIGTERM: stopped at the next safe point, saying what each machine was left as.
      try engine.stoppable(command, group.machines) {
        guard runsTriggers else { return try body(engine, group.machines) }
        try engine.withTriggers(command, group.machines) { try body(engine, $0) }
      }
    }
  }

  /// The engine, writing events where `--events` or CARAVAN_EVENTS says.
  func lifecycle(_ hypervisor: Hypervisor, reporter: Reporter = ConsoleReporter(), events options: LockOptions)
    throws -> Lifecycle
  {
    let engine = lifecycle(hypervisor, reporter: reporter)
    if let path = options.events ?? environment["CARAVAN_EVENTS"].flatMap({ $0.isEmpty ? nil : $0 }) {
      engine.events = try EventLog(path: FileSystem.absolute(path), project: project.root)
    }
    return engine
  }

  /// The machines named, else (for `up`) those with autostart, else all.
  func machines(_ names: [String], autostartOnly: Bool = false) throws -> [MachineSpec] {
    let chosen = try project.machines(named: names)
    return names.isEmpty && autostartOnly ? chosen.filter(\.autostart) : chosen
  }

  /// One machine for `ssh`: the one named, else the primary or only one.
  func singleMachine(_ name: String?) throws -> MachineSpec {
    if let name { return try project.machines(named: [name])[0] }
    guard !project.spec.machines.isEmpty else {
      throw CaravanError(
        .invalidInput, "this project defines no machines (its machine blocks have count: 0)",
        hint: "Give a machine block a count: of 1 or more, e.g. with `--var`.")
    }
    guard let machine = project.spec.primaryMachine else {
      let names = project.spec.machines.map(\.name).joined(separator: ", ")
      throw CaravanError(
        .invalidInput, "this project has several machines (\(names)) and none is primary",
        hint:
          "Name one, e.g. `caravan ssh \(project.spec.machines.first?.name ?? "NAME")`, or mark one `primary: true`.")
    }
    return machine
  }
}

/// The engines `Context.engines` made, by libvirt URI.
final class EngineCache {
  var engines: [String: Lifecycle] = [:]
}
