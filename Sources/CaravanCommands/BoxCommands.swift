import ArgumentParser
import Boxes
import Core
import Foundation
import LibvirtDriver

struct BoxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "box", abstract: "Manage base boxes.",
    subcommands: [BoxAdd.self, BoxList.self, BoxRemove.self])
}

struct BoxAdd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add", abstract: "Add a box from a .box file (a vagrant-libvirt box).")

  @Argument(help: "The box's name, e.g. caravan/debian-12.") var name: String
  @Argument(help: "Path of the .box file.") var file: String
  @Option(name: .customLong("box-version"), help: "The version to record (default 0, as Vagrant does for files).")
  var version = "0"
  @Flag(help: "Replace the box if it is installed.") var force = false

  func validate() throws {
    guard version.range(of: "^[0-9]+(\\.[0-9]+)*$", options: .regularExpression) != nil else {
      throw ValidationError("--box-version '\(version)' is not a version like 12.1.0")
    }
  }

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    do {
      let box = try store.add(name: name, file: FileSystem.resolve(file, relativeTo: FileManager.default.currentDirectoryPath), version: version, force: force)
      print("box '\(box.name)' (version \(box.version), libvirt) added")
    } catch let error as BoxError {
      throw CaravanError(.invalidInput, error.message, hint: error.hint, cause: error)
    }
  }
}

struct BoxList: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed boxes.")

  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let boxes = try BoxStore(root: CaravanPaths.boxes()).list()
    if json {
      let rows = boxes.map { ["name": $0.name, "version": $0.version, "provider": "libvirt", "path": $0.directory] }
      let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    if boxes.isEmpty {
      print("There are no installed boxes! Use `caravan box add` to add some.")
      return
    }
    let width = (boxes.map(\.name.count).max() ?? 0) + 1
    for box in boxes {
      print("\(box.name.padding(toLength: width, withPad: " ", startingAt: 0))(libvirt, \(box.version))")
    }
  }
}

struct BoxRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remove", abstract: "Remove a box and its storage pool volume.")

  @Argument(help: "The box's name.") var name: String
  @Option(name: .customLong("box-version"), help: "Only this version.") var version: String?
  @Flag(help: "Remove every version.") var all = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    var matches = try store.list().filter { $0.name == name }
    guard !matches.isEmpty else {
      throw CaravanError(.notFound, "box '\(name)' is not installed", hint: "`caravan box list` shows the installed boxes.")
    }
    if let version { matches = matches.filter { $0.version == version } }
    guard !matches.isEmpty else {
      throw CaravanError(.notFound, "box '\(name)' has no version '\(version ?? "")'", hint: "`caravan box list` shows the installed versions.")
    }
    if matches.count > 1 && !all {
      throw CaravanError(.invalidInput, "box '\(name)' has \(matches.count) versions (\(matches.map(\.version).joined(separator: ", ")))",
        hint: "Choose one with --box-version, or remove them all with --all.")
    }
    let hypervisor = try LibvirtHypervisor(uri: defaultLibvirtURI(configured: nil), lockDirectory: CaravanPaths.home() + "/locks")
    for box in matches {
      let users = try hypervisor.machinesUsing(box: box)
      guard users.isEmpty else {
        throw CaravanError(.conflict, "box '\(box.name)' (\(box.version)) is used by machine \(users.joined(separator: ", "))",
          hint: "Destroy the machine first (`caravan destroy` in its project).")
      }
      try hypervisor.removeBoxVolume(box)
      try store.remove(box)
      print("box '\(box.name)' (version \(box.version)) removed, with its storage pool volume")
    }
  }
}
