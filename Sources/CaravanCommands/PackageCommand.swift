import ArgumentParser
import Boxes
import Core
import Foundation
import Host
import Spec
import Support

struct PackageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "package",
    abstract: "Make a box of a machine: its disk flattened, compressed and cleaned for reuse.",
    discussion: """
      The machine is halted (and brought back after if it was running). A copy of its disk boots as a \
      guest of its own and is cleaned there: machine-id emptied, SSH host keys removed (new ones are made \
      at the next boot), cloud-init's instance cleaned, logs and package caches emptied, and the machine's \
      own key replaced by the Vagrant insecure key (unless --keep-key), as a box's first `up` expects. The \
      copy is then written as a zstd qcow2 in a vagrant-libvirt (v1) .box, with its entry in a Vagrant \
      catalog beside it. The machine's own disk is only read: it is left exactly as it was.
      """)

  @Argument(help: "The machine (default: the primary or only one).") var machine: String?
  @Option(help: "The box file to write (default: NAME.box in this folder).") var output: String?
  @Option(help: "The box's name in its catalog (default: the machine's name).") var name: String?
  @Option(
    name: .customLong("box-version"), help: "The box's version in its catalog (default: the time, YYYYMMDD.HHMMSS).")
  var version: String?
  @Option(help: "The catalog to add the box's entry to (default: the box file's path with .json).") var catalog: String?
  @Flag(name: .customLong("keep-key"), help: "Leave the machine's own key authorized, not the insecure key.")
  var keepKey = false
  @Flag(help: "Install the box at once (`caravan box add` of its catalog).") var add = false
  @Flag(help: "Print what was written as JSON (the steps go to standard error).") var json = false
  @OptionGroup var lockOptions: LockOptions
  @OptionGroup var variables: VariableOptions

  func validate() throws {
    if let output, !output.hasSuffix(".box") {
      throw ValidationError("--output '\(output)' should end in .box, e.g. --output \(output).box.")
    }
    if let name, name.isEmpty || name.contains(where: \.isWhitespace) {
      throw ValidationError("--name '\(name)' is not a box name: give one like 'myorg/web' without spaces.")
    }
  }

  func run() throws {
    let context = try Context(variables)
    let chosen = try context.singleMachine(machine)
    let options = packageOptions(chosen)
    var written: BoxPackager.Written?
    let reporter = ConsoleReporter(toStandardError: json)
    let held = try context.lock(lockOptions)
    defer { withExtendedLifetime(held) {} }
    let engine = try context.lifecycle(try context.hypervisor(for: chosen), reporter: reporter, events: lockOptions)
    try engine.stoppable("package", [chosen]) {
      written = try engine.package(chosen, options: options)
    }
    guard let written else { return }
    var installed: InstalledBox?
    if add {
      installed = try makeInstaller(BoxStore(root: CaravanPaths.boxes()), toStandardError: json).add(
        BoxInstaller.Request(
          source: BoxInstallerSource.resolve(options.catalog), name: nil, version: "= \(options.version)",
          force: true))
    }
    try report(written, options: options, machine: chosen.name, installed: installed)
  }

  private func packageOptions(_ chosen: MachineSpec) -> PackageOptions {
    let boxName = name ?? chosen.name
    let fileName = boxName.replacingOccurrences(of: "/", with: "-") + ".box"
    let path = FileSystem.absolute(output ?? fileName)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd.HHmmss"
    return PackageOptions(
      output: path, name: boxName, version: version ?? formatter.string(from: Date()),
      catalog: catalog.map(FileSystem.absolute) ?? String(path.dropLast(".box".count)) + ".json", keepKey: keepKey)
  }

  private func report(
    _ written: BoxPackager.Written, options: PackageOptions, machine: String, installed: InstalledBox?
  ) throws {
    if json {
      var object: [String: Any] = [
        "machine": machine, "box": written.path, "sha256": written.sha256, "bytes": written.bytes,
        "name": options.name, "version": options.version, "catalog": options.catalog,
      ]
      if installed != nil { object["added"] = true }
      let data = try JSONSerialization.data(
        withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    print("wrote \(written.path) (\(written.bytes >> 20) MiB, sha256 \(written.sha256))")
    print("catalog \(options.catalog): box '\(options.name)' version \(options.version)")
    if let installed {
      print("box '\(installed.name)' (version \(installed.version)) added")
    } else {
      print("add it with: caravan box add \(options.catalog)")
    }
  }
}
