import ArgumentParser
import Core
import Foundation

struct UpCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Create and boot machines, wait for SSH, and provision them the first time.")

  @Argument(help: "Machines to bring up (default: all with autostart).") var machines: [String] = []
  @Flag(inversion: .prefixedNo, help: "Run provisioners again (--provision) or not at all (--no-provision).")
  var provision: Bool?
  @Option(
    name: .customLong("provision-with"),
    help: "Run only these provisioners (names or types, comma-separated), whatever their run: says.")
  var provisionWith: [String] = []
  @Flag(
    inversion: .prefixedNo,
    help: "Remove a machine whose first up fails (default), or keep it to look at (--no-destroy-on-error).")
  var destroyOnError = true
  @Option(
    help: ArgumentHelp(
      "Bring up at most N machines at once (default: from the host's CPUs and memory; 1 under TCG on fewer than 4 CPUs).",
      valueName: "N"))
  var parallel: Int?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Start new machines from their box's saved running state (made on the first warm up) instead of booting; default: the Machinefile's `libvirt { warm }`."
  )
  var warm: Bool?
  @Flag(
    help:
      "Use exactly the boxes Machinefile.lock names and refuse, before anything is made, a missing lock, a box it does not name or an installed box whose digest differs (also CARAVAN_LOCKED=1)."
  )
  var locked = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func validate() throws {
    if let parallel, parallel < 1 {
      throw ValidationError(
        "--parallel must be 1 or more (got \(parallel)); --parallel 1 brings machines up one at a time")
    }
  }

  func run() throws {
    let options = UpOptions(
      provision: provision, provisionWith: provisionWith.flatMap { $0.split(separator: ",").map(String.init) },
      destroyOnError: destroyOnError, parallel: parallel, warm: warm,
      locked: locked || ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CARAVAN_LOCKED"] ?? ""))
    try Context(variables).changing(
      machines, lock: lockOptions, command: "up", autostartOnly: true, runsTriggers: false
    ) {
      try $0.up($1, options: options)
    }
  }
}
