import ArgumentParser
import Boxes
import Builder
import Core
import Foundation
import Host
import Machinefile
import Spec
import Support

struct BoxWarm: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "warm",
    abstract: "Save a box's running state now, so `up --warm` starts machines of it in seconds.",
    discussion: """
      Boots the box once on a throw-away disk, saves its disk and memory as soon as its SSH answers, and \
      keeps that beside the box's storage pool volume (`box list` shows it, `box remove` deletes it). \
      Machines start from it when they have the same CPUs and memory (and machine type, CPU mode, QEMU \
      and libvirt); another size remakes it. Nothing is made again when the saved state already fits.
      """)

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "This version (default: the newest installed).")
  var version: String?
  @Option(help: ArgumentHelp("The machines' memory: 2GiB, 768M, or MiB.", valueName: "SIZE"))
  var memory: String = "1GiB"
  @Option(help: ArgumentHelp("The machines' CPUs.", valueName: "N")) var cpus: Int = 1

  func validate() throws {
    guard let bytes = parseMemorySize(memory), bytes >= 64 << 20 else {
      throw ValidationError("--memory must be a size of at least 64MiB, like 2GiB, 768M or 1024 (MiB); got '\(memory)'")
    }
    if cpus < 1 { throw ValidationError("--cpus must be 1 or more (got \(cpus))") }
  }

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let store = BoxStore(root: CaravanPaths.boxes(environment: environment))
    let box = try store.installed(name: name, version: version)
    var machine = MachineSpec(name: "warm")
    machine.box = BoxRequirement(name: box.name, version: try? VersionConstraint(parsing: "= " + box.version))
    machine.cpus = cpus
    machine.memoryBytes = parseMemorySize(memory) ?? 1 << 30
    let scratch = try ThrowawayProject(prefix: "caravan-warm")
    defer { scratch.remove() }
    let (_, lifecycle) = try scratch.lifecycle(
      for: machine, hypervisor: try boxHypervisor(), boxes: store,
      keyDirectory: CaravanPaths.home(environment: environment) + "/keys", reporter: ConsoleReporter(),
      environment: environment)
    let (state, made): (WarmState, Bool)
    do {
      (state, made) = try lifecycle.warmBox(box, machine: machine)
    } catch  where Interrupt.process.requested {
      throw Interrupt.stopped(
        "interrupted: box '\(box.name)' (version \(box.version)) has no new warm state; what the attempt made was removed"
      )
    }
    print(
      "box '\(box.name)' (version \(box.version)) \(made ? "now has" : "already has") a warm state: \(state.sizeBytes >> 20) MiB in pool '\(state.pool)' for \(state.fingerprint.cpus) CPU and \(state.fingerprint.memoryMiB) MiB"
    )
  }
}
