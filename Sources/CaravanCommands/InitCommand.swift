import ArgumentParser
import Boxes
import Foundation
import Host
import Machinefile
import Support
import VagrantImport

struct InitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init", abstract: "Write a commented starter Machinefile in this folder, or one from a Vagrantfile.",
    discussion: """
      `caravan init --from Vagrantfile [PATH]` writes a Machinefile beside the Vagrantfile (PATH: the file or its \
      folder; default ./Vagrantfile) by evaluating it with the host's Ruby, as vagrant does: the Vagrantfile's own \
      Ruby runs, and host commands it calls run too. What it cannot translate is listed on standard error and at the \
      top of the Machinefile; the exit status is then 2.
      """)

  @Argument(help: "The box to use; with --from Vagrantfile, the Vagrantfile or its folder.") var box: String?
  @Flag(help: "Write only the essential lines, without comments.") var minimal = false
  @Flag(help: "Overwrite an existing Machinefile.") var force = false
  @Option(
    name: .customLong("from"),
    help: ArgumentHelp(
      "Write the Machinefile from a Vagrantfile: `Vagrantfile` (then PATH), or its path.", valueName: "Vagrantfile|PATH"
    ))
  var from: String?
  @Option(
    help: ArgumentHelp(
      "Start from a distribution's cloud image of the image index (`caravan box add --list-images`), e.g. debian/12.",
      valueName: "NAME"))
  var image: String?

  func validate() throws {
    if let image {
      if from != nil { throw ValidationError("--image \(image) and --from: give one; a Vagrantfile names its own box") }
      if let box { throw ValidationError("--image \(image) names the box already; '\(box)' is one argument too many") }
    }
    if let from {
      if minimal {
        throw ValidationError("--minimal is for the starter Machinefile; --from \(from) writes the whole translation")
      }
      if from != "Vagrantfile", let box {
        throw ValidationError(
          "--from \(from) names the Vagrantfile already; '\(box)' is one argument too many (a box comes from the Vagrantfile)"
        )
      }
      return
    }
    let box = box ?? InitCommand.defaultBox
    guard !box.isEmpty, !box.contains("\""), !box.contains("\\"), !box.contains("$") else {
      throw ValidationError("box name '\(box)' cannot be written into a Machinefile; use a name like caravan/debian-12")
    }
  }

  static let defaultBox = "caravan/debian-12"

  func run() throws {
    if let from { return try runFrom(from) }
    let path = FileManager.default.currentDirectoryPath + "/Machinefile"
    if FileManager.default.fileExists(atPath: path) && !force {
      throw CaravanError(
        .conflict, "'\(path)' already exists",
        hint: "Run `caravan init --force` to overwrite it.")
    }
    if let image {
      let index = try BoxInstaller(
        store: BoxStore(root: CaravanPaths.boxes(environment: ProcessInfo.processInfo.environment))
      ).imageIndex()
      guard index.contains(image) else {
        throw CaravanError(
          .notFound, "'\(image)' is not in the image index",
          hint: "Images in the index: \(index.names.joined(separator: ", ")) (`caravan box add --list-images`).")
      }
    }
    let text = Machinefile.starter(box: image ?? box ?? InitCommand.defaultBox, minimal: minimal, image: image != nil)
    try FileSystem.writeAtomically(Data(text.utf8), to: path, mode: 0o644)
    print("wrote \(path); `caravan up` brings the machine up")
  }

  /// `--from Vagrantfile [PATH]` or `--from PATH`: the Machinefile beside the Vagrantfile;
  /// exit 2 when something was left out.
  private func runFrom(_ from: String) throws {
    let cwd = FileManager.default.currentDirectoryPath
    let vagrantfile = try VagrantImporter.vagrantfile(from == "Vagrantfile" ? box : from, cwd: cwd)
    let (path, result) = try VagrantImporter().importVagrantfile(vagrantfile, force: force)
    let shown = Machinefile.displayName(of: path, from: cwd)
    let file = Machinefile.displayName(of: vagrantfile, from: cwd)
    let machines = result.machines.count <= 8 ? result.machines.joined(separator: ", ") : "\(result.machines.count)"
    print(
      "wrote \(shown) from \(file): \(result.machines.count) machine\(result.machines.count == 1 ? "" : "s") (\(machines))"
    )
    for note in result.notes { print("note: " + note.rendered(file: file)) }
    guard !result.complete else { return }
    printError("left out (also listed at the top of \(shown)):")
    for item in result.dropped { printError("  " + item.rendered(file: file)) }
    throw ExitCode(2)
  }
}
