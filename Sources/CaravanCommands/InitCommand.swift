import ArgumentParser
import Foundation
import Machinefile
import Support

struct InitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init", abstract: "Write a commented starter Machinefile in this folder.")

  @Argument(help: "The box to use.") var box = "caravan/debian-12"
  @Flag(help: "Write only the essential lines, without comments.") var minimal = false
  @Flag(help: "Overwrite an existing Machinefile.") var force = false

  func validate() throws {
    guard !box.isEmpty, !box.contains("\""), !box.contains("\\"), !box.contains("$") else {
      throw ValidationError("box name '\(box)' cannot be written into a Machinefile; use a name like caravan/debian-12")
    }
  }

  func run() throws {
    let path = FileManager.default.currentDirectoryPath + "/Machinefile"
    if FileManager.default.fileExists(atPath: path) && !force {
      throw CaravanError(
        .conflict, "'\(path)' already exists",
        hint: "Run `caravan init --force` to overwrite it.")
    }
    try FileSystem.writeAtomically(Data(Machinefile.starter(box: box, minimal: minimal).utf8), to: path, mode: 0o644)
    print("wrote \(path); `caravan up` brings the machine up")
  }
}
