import Boxes
import Core
import Foundation
import LibvirtDriver
import Machinefile
import Provisioning
import SSH

/// Flags shared by the commands that change machines.
struct LockOptions: ParsableArguments {
  @Flag(name: .customLong("no-wait"), help: "Fail at once if another caravan command is working on this project.")
  var noWait = false
}

import ArgumentParser

/// Everything a project command needs, wired from the environment.
struct Context {
  let environment = ProcessInfo.processInfo.environment
  let project: Project

  /// Finds and loads the Machinefile; an invalid one throws `MachinefileError` (exit 65).
  init() throws {
    let cwd = FileManager.default.currentDirectoryPath
    guard let path = Machinefile.find(from: cwd, environment: environment) else {
      throw CaravanError(.notFound, "no Machinefile in \(cwd) or any folder above it",
        hint: "Write one (see README.md), or set CARAVAN_MACHINEFILE to its path.")
    }
    let absolute = FileSystem.resolve(path, relativeTo: cwd)
    let spec = try loadMachinefile(absolute, cwd: cwd, environment: environment)
    let root = (absolute as NSString).deletingLastPathComponent
    project = Project(root: (root as NSString).standardizingPath, machinefilePath: absolute, spec: spec)
  }

  var uri: String {
    defaultLibvirtURI(configured: project.spec.machines.first?.libvirt.uri, environment: environment)
  }

  func hypervisor() throws -> LibvirtHypervisor {
    try LibvirtHypervisor(uri: uri, pool: project.spec.machines.first?.libvirt.pool,
      lockDirectory: CaravanPaths.home(environment: environment) + "/locks")
  }

  func lifecycle(_ hypervisor: Hypervisor) -> Lifecycle {
    Lifecycle(project: project, hypervisor: hypervisor,
      communicators: OpenSSHFactory(keyDirectory: CaravanPaths.home(environment: environment) + "/keys"),
      provisioners: GuestProvisioner(), boxes: BoxStore(root: CaravanPaths.boxes(environment: environment)),
      reporter: ConsoleReporter(), environment: environment)
  }

  func lock(_ options: LockOptions) throws -> ProjectLock {
    try ProjectLock(stateDirectory: project.stateDirectory, wait: !options.noWait) { printError($0) }
  }

  /// Runs `body` on the chosen machines while holding the project lock.
  func changing(_ names: [String], lock options: LockOptions, autostartOnly: Bool = false,
                _ body: (Lifecycle, [MachineSpec]) throws -> Void) throws {
    let selected = try machines(names, autostartOnly: autostartOnly)
    let held = try lock(options)
    defer { withExtendedLifetime(held) {} }
    try body(lifecycle(try hypervisor()), selected)
  }

  /// The machines named, else (for `up`) those with autostart, else all.
  func machines(_ names: [String], autostartOnly: Bool = false) throws -> [MachineSpec] {
    let chosen = try project.machines(named: names)
    return names.isEmpty && autostartOnly ? chosen.filter(\.autostart) : chosen
  }

  /// One machine for `ssh`: the one named, else the primary or only one.
  func singleMachine(_ name: String?) throws -> MachineSpec {
    if let name { return try project.machines(named: [name])[0] }
    guard let machine = project.spec.primaryMachine else {
      let names = project.spec.machines.map(\.name).joined(separator: ", ")
      throw CaravanError(.invalidInput, "this project has several machines (\(names)) and none is primary",
        hint: "Name one, e.g. `caravan ssh \(project.spec.machines.first?.name ?? "NAME")`, or mark one `primary: true`.")
    }
    return machine
  }
}

/// Reads and loads a Machinefile, naming it in diagnostics as the user would
/// (`Machinefile`, `../Machinefile`, or its absolute path).
func loadMachinefile(_ absolute: String, cwd: String, environment: [String: String]) throws -> ProjectSpec {
  guard let data = FileManager.default.contents(atPath: absolute) else {
    throw CaravanError(.notFound, "cannot read the Machinefile '\(absolute)'", hint: "Check the path and that you may read it.")
  }
  return try Machinefile.load(source: String(decoding: data, as: UTF8.self), fileName: displayPath(absolute, cwd: cwd), environment: environment)
}

/// `path` relative to `cwd` when it is inside it or one of its parents' direct child, else as given.
func displayPath(_ path: String, cwd: String) -> String {
  let base = cwd.hasSuffix("/") ? cwd : cwd + "/"
  if path.hasPrefix(base) { return String(path.dropFirst(base.count)) }
  var parent = (cwd as NSString).deletingLastPathComponent
  var ups = "../"
  while parent != "/" && ups.count <= 9 {
    if (path as NSString).deletingLastPathComponent == parent { return ups + (path as NSString).lastPathComponent }
    parent = (parent as NSString).deletingLastPathComponent
    ups += "../"
  }
  return path
}
