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
      --push oci://HOST/REPO:TAG then uploads it (its volume and its record) to an OCI registry; --pull \
      oci://… installs one pushed there instead of booting, for runners that share a host image: it is \
      checked like a local one (box image, QEMU and libvirt versions, machine type, CPU, memory, layout) \
      and refused with the reason when it does not fit, so `up` boots cold instead. Credentials, CA and \
      plain-HTTP rules are those of `box push`.
      """)

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "This version (default: the newest installed).")
  var version: String?
  @Option(help: ArgumentHelp("The machines' memory: 2GiB, 768M, or MiB.", valueName: "SIZE"))
  var memory: String = "1GiB"
  @Option(help: ArgumentHelp("The machines' CPUs.", valueName: "N")) var cpus: Int = 1
  @Option(help: ArgumentHelp("Then push the state to an OCI registry.", valueName: "oci://HOST/REPO:TAG"))
  var push: String?
  @Option(
    help: ArgumentHelp(
      "Install the state pushed there instead of making one (its own CPUs and memory).", valueName: "oci://…"))
  var pull: String?

  func validate() throws {
    guard let bytes = parseMemorySize(memory), bytes >= 64 << 20 else {
      throw ValidationError("--memory must be a size of at least 64MiB, like 2GiB, 768M or 1024 (MiB); got '\(memory)'")
    }
    if cpus < 1 { throw ValidationError("--cpus must be 1 or more (got \(cpus))") }
    if push != nil && pull != nil {
      throw ValidationError("--push and --pull go the other way from each other; give one of them.")
    }
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
    if let pull {
      let reference = try OCIReference(parsing: pull)
      let state = try lifecycle.pullWarmState(box, machine: machine, from: reference)
      print(
        "box '\(box.name)' (version \(box.version)) has the warm state of \(reference): \(state.sizeBytes >> 20) MiB in pool '\(state.pool)' for \(state.fingerprint.cpus) CPU and \(state.fingerprint.memoryMiB) MiB"
      )
      return
    }
    let reference = try push.map { try OCIReference(parsing: $0) }
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
    guard let reference else { return }
    let pushed = try lifecycle.pushWarmState(box, state: state, to: reference)
    print(
      "pushed the warm state to \(reference): \(pushed.digest) (\(pushed.uploaded.count) blob\(pushed.uploaded.count == 1 ? "" : "s") uploaded, \(pushed.present.count) already there)"
    )
  }
}
