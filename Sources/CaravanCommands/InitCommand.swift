import ArgumentParser
import Foundation
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
    try FileSystem.writeAtomically(Data(InitCommand.template(box: box, minimal: minimal).utf8), to: path, mode: 0o644)
    print("wrote \(path); `caravan up` brings the machine up")
  }

  static func template(box: String, minimal: Bool) -> String {
    if minimal {
      return """
        version 1
        box "\(box)"

        """
    }
    return """
      # Machinefile: the machines of this project. `caravan validate` checks it,
      # `caravan up` brings them up. Top-level settings are defaults for every machine.
      version 1

      # The base box, as `caravan box list` names it; pin versions with version: "~> 12.0".
      box "\(box)"

      # Size of each machine.
      memory 1GiB
      cpus 2

      # Ports on the host's 127.0.0.1 forwarded into the guest (SSH is forwarded by itself).
      # forward 8080 -> 80

      # Commands run in the guest on the first `up` (run: always runs them on every `up`).
      # provision shell, name: "setup", inline: \"\"\"
      #   apt-get update
      #   apt-get install -y nginx
      #   \"\"\"

      # More machines: each block overrides the defaults above.
      # machine "db", autostart: false {
      #   memory 2GiB
      # }

      """
  }
}
