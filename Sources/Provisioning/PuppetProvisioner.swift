import Core
import Foundation
import Spec
import Support

/// `provision puppet`: masterless Puppet, as Vagrant's puppet provisioner. The manifest and the
/// modules folder are copied (as the file provisioner copies, modes kept) into a fresh mktemp
/// folder in the guest, `puppet apply` runs there as root with each fact as a `FACTER_NAME`
/// variable and the `options:` as further arguments, and the folder is removed after, also
/// when something failed. The guest must have Puppet (Debian package `puppet`); Caravan does
/// not install it.
extension GuestProvisioner {
  func runPuppet(
    _ puppet: PuppetProvisioner, name: String, machine: MachineSpec, projectRoot: String,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    let what = "puppet provisioner '\(name)' of machine '\(machine.name)'"
    try PuppetApply.checkFacts(puppet.facts, for: what)
    let manifest = try PuppetApply.hostPath(
      puppet.manifest, "manifest", folder: false, for: what, projectRoot: projectRoot)
    let modules = try puppet.modules.map {
      try PuppetApply.hostPath($0, "modules folder", folder: true, for: what, projectRoot: projectRoot)
    }
    let program = try findPuppet(for: what, on: communicator)
    let folder = try makeGuestFolder(name: name, on: communicator)
    defer { _ = try? communicator.execute(PuppetApply.removeCommand(folder)) { _, _ in } }

    let manifestName = (manifest as NSString).lastPathComponent
    try place(
      manifest, isDirectory: false, in: folder, at: folder + "/manifests/" + manifestName, what: what, on: communicator)
    if let modules {
      try place(modules, isDirectory: true, in: folder, at: folder + "/modules", what: what, on: communicator)
    }
    let command = PuppetApply.command(
      puppet: program, folder: folder, manifest: manifestName, modules: modules != nil, facts: puppet.facts,
      options: puppet.options)
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status = try communicator.execute(command) { _, line in
      reporter.detail(machine.name, line)
      tail.append(line)
    }
    guard PuppetApply.succeeded(status) else {
      let again = "Fix the manifest and run `caravan provision\(machine.name == "default" ? "" : " " + machine.name)`."
      throw CaravanError(
        .guest, "\(what) failed: puppet apply exited with status \(status)\(PuppetApply.meaning(status))",
        hint: (tail.quoted(silent: ["It printed nothing."]) + [again])
          .joined(separator: "\n"))
    }
  }

  /// The guest's `puppet`: on the login user's PATH (Debian's /usr/bin/puppet), else
  /// Puppet's own packages' /opt/puppetlabs/bin/puppet; an error saying what to install.
  func findPuppet(for what: String, on communicator: Communicator) throws -> String {
    var output: [String] = []
    let status = try communicator.execute(PuppetApply.findCommand) { stream, line in
      if stream == .stdout { output.append(line) }
    }
    guard status == 0, let path = output.last(where: { $0.hasPrefix("/") }) else {
      throw CaravanError(
        .notFound,
        "\(what): the guest has no Puppet (no `puppet` in the login user's PATH or in /opt/puppetlabs/bin)",
        hint:
          "The guest needs Puppet: install it in the box (Debian package `puppet`: apt-get install puppet), or with a shell provisioner that runs before this one."
      )
    }
    return path
  }

  /// A fresh folder in the guest (mktemp -d: mode 0700, a name nobody can guess), its path.
  func makeGuestFolder(name: String, on communicator: Communicator) throws -> String {
    var output: [String] = []
    let status = try communicator.execute(PuppetApply.makeFolderCommand(name: name)) { _, line in
      output.append(line)
    }
    let prefix = PuppetApply.folderPrefix(name: name)
    guard status == 0, let path = output.last(where: { $0.hasPrefix(prefix) }) else {
      throw CaravanError(
        .guest,
        "provisioner '\(name)': mktemp could not make a folder in the guest (exit status \(status))"
          + (output.isEmpty ? "" : ": " + output.joined(separator: " ")),
        hint: "Check that /tmp in the guest exists and is writable.")
    }
    return path
  }

  /// Copies a host file or folder to `destination` in the guest folder `folder`, through a
  /// tar staged there, as the file provisioner copies.
  private func place(
    _ path: String, isDirectory: Bool, in folder: String, at destination: String, what: String,
    on communicator: Communicator
  ) throws {
    let staged = folder + "/.upload.tar"
    try communicator.upload(GuestProvisioner.archive(path, isDirectory: isDirectory), to: staged)
    var output: [String] = []
    let status = try communicator.execute(
      GuestProvisioner.placeCommand(
        staged: staged, destination: destination, isDirectory: isDirectory,
        name: (path as NSString).lastPathComponent)
    ) { _, line in output.append(line) }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "\(what) could not copy '\(path)' into the guest (exit status \(status))"
          + (output.isEmpty ? "" : ": " + output.joined(separator: " / ")),
        hint: "Check that /tmp in the guest has room.")
    }
  }
}

/// The guest commands of a puppet run, each a pure function of its inputs; every value in
/// them is one quoted word, never shell text.
enum PuppetApply {
  static let findCommand =
    "command -v puppet || { [ -x /opt/puppetlabs/bin/puppet ] && echo /opt/puppetlabs/bin/puppet; }"

  static func folderPrefix(name: String) -> String {
    "/tmp/caravan-puppet-" + String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }) + "."
  }

  static func makeFolderCommand(name: String) -> String {
    "mktemp -d \(shellQuote(folderPrefix(name: name) + "XXXXXXXXXX"))"
  }

  /// Root's `puppet apply` (files it made in the folder are root's), else the user's `rm`.
  static func removeCommand(_ folder: String) -> String {
    "sudo -n rm -rf -- \(shellQuote(folder)) 2>/dev/null || rm -rf -- \(shellQuote(folder))"
  }

  /// `puppet apply` in the folder, as root, with the facts in its environment. It always
  /// runs with `--detailed-exitcodes`: without it a run whose resources failed still exits
  /// 0, and Caravan must see a failure. With it, 0 means nothing changed and 2 that changes
  /// were made (both success); 4 (failures) and 6 (changes and failures) are failures, as
  /// is 1 (the manifest did not compile). The user's options come after Caravan's, and the
  /// manifest last. The guest's writes are synced to its disk before it exits, with puppet's status.
  static func command(
    puppet: String, folder: String, manifest: String, modules: Bool, facts: [String: String], options: [String]
  ) -> String {
    let environment = facts.sorted { $0.key < $1.key }.map { "FACTER_\($0.key)=\($0.value)" }
    var arguments = [puppet, "apply"]
    if !options.contains("--detailed-exitcodes") { arguments.append("--detailed-exitcodes") }
    // Puppet colours its lines even into a pipe; they are shown line by line, behind the
    // machine's name, and kept in errors: plain text, unless the options ask for colour.
    if !options.contains(where: { $0.hasPrefix("--color") }) { arguments.append("--color=false") }
    if modules { arguments += ["--modulepath", folder + "/modules"] }
    arguments += options
    arguments.append(folder + "/manifests/" + manifest)
    // Synced in the same round trip: what puppet changed is on the guest's disk before it is recorded.
    return "cd \(shellQuote(folder)) && sudo -n -H env "
      + (environment + arguments).map(shellQuote).joined(separator: " ")
      + "; s=$?; \(GuestProvisioner.syncCommand); exit $s"
  }

  static func succeeded(_ status: Int32) -> Bool { status == 0 || status == 2 }

  static func meaning(_ status: Int32) -> String {
    switch status {
    case 1: return " (the manifest did not compile, or puppet could not run)"
    case 4: return " (some resources failed)"
    case 6: return " (some resources changed and some failed)"
    default: return ""
    }
  }

  /// Fact names become environment variable names, so they must be one.
  static func checkFacts(_ facts: [String: String], for what: String) throws {
    for name in facts.keys.sorted()
    where name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
      throw CaravanError(
        .invalidInput, "\(what): fact name '\(name)' cannot be given to puppet as FACTER_\(name)",
        hint: "Fact names are letters, digits and underscores.")
    }
  }

  /// A host path of the provisioner, relative to the Machinefile's folder: a file, or a folder.
  static func hostPath(_ path: String, _ role: String, folder: Bool, for what: String, projectRoot: String) throws
    -> String
  {
    let full = FileSystem.resolve(path, relativeTo: projectRoot)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
      throw CaravanError(
        .notFound, "\(what): \(role) '\(path)' not found (looked at \(full))",
        hint: "Paths are relative to the folder of the Machinefile."
          + (role == "manifest" ? " Without `manifest:`, it is manifests/default.pp." : ""))
    }
    guard isDirectory.boolValue == folder else {
      throw CaravanError(
        .invalidInput, "\(what): \(role) '\(path)' is \(folder ? "a file, not a folder" : "a folder, not a file")",
        hint: folder ? "Name the folder that holds the modules." : "Name the manifest file (.pp).")
    }
    return full
  }
}
