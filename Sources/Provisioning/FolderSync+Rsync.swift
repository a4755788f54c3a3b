import Core
import Foundation
import Spec
import Support

/// `sync SRC -> DST, type: rsync`: the host's rsync, through the machine's own SSH
/// connection (rsync's `-e` is the very ssh command every other step uses, so the
/// ControlMaster socket carries it), as root in the guest (`sudo -n rsync`) so any
/// destination works, owned by `owner:`/`group:` (default: the login user and its
/// group), deleting in the guest what was deleted on the host.
extension FolderSync {
  func rsync(
    _ folder: SyncSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator,
    reporter: Reporter
  ) throws {
    guard let shell = communicator.remoteShell else {
      throw CaravanError(
        .internalError, "machine '\(machine.name)': the synced folder '\(folder.summary)' needs an SSH connection")
    }
    let source = FileSystem.resolve(folder.source, relativeTo: projectRoot)
    let owner = folder.owner ?? machine.ssh.user
    let group = try prepareDestination(folder, owner: owner, machine: machine, on: communicator)
    reporter.step(machine.name, "rsync \(folder.source) -> \(folder.destination)")
    let args = FolderSync.rsyncArguments(
      source: source, destination: folder.destination, shell: shell, owner: owner, group: group,
      exclude: folder.exclude)
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status: Int32
    do {
      status = try Subprocess(args).runStreamingLines { _, line in
        tail.append(line)
        reporter.detail(machine.name, line)
      }
    } catch {
      throw CaravanError(
        .io,
        "machine '\(machine.name)': the synced folder '\(folder.summary)' could not run the host's rsync: \(error)",
        hint: "Install it (Debian package `rsync`: `sudo apt-get install rsync`).", cause: error)
    }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "machine '\(machine.name)': rsync of the synced folder '\(folder.summary)' failed (exit status \(status))"
          + (tail.isEmpty ? "" : ": " + tail.joined(separator: " / ")),
        hint:
          "Check that the machine runs (`caravan status`), that '\(owner)' is a user of the guest, and that the login user may use `sudo -n`; then run `caravan rsync\(machine.name == "default" ? "" : " " + machine.name)`."
      )
    }
  }

  /// Checks the guest has rsync, makes the destination as root, and returns the group
  /// the files get: `group:`, else the owner's own group (`id -gn` in the guest).
  func prepareDestination(_ folder: SyncSpec, owner: String, machine: MachineSpec, on communicator: Communicator)
    throws -> String
  {
    var output: [String] = []
    let status = try communicator.execute(
      FolderSync.prepareCommand(destination: folder.destination, owner: owner, group: folder.group)
    ) { _, line in output.append(line) }
    switch status {
    case 0:
      if let group = folder.group { return group }
      guard let group = output.last?.trimmingCharacters(in: .whitespaces), !group.isEmpty else { break }
      return group
    case 127:
      throw CaravanError(
        .notFound,
        "machine '\(machine.name)': the synced folder '\(folder.summary)' needs rsync in the guest, and it has none",
        hint:
          "Install it in the box (Debian package `rsync`), e.g. with `provision shell, inline: \"apt-get install -y rsync\"` and then `caravan rsync`; or use `type: 9p`."
      )
    case 3:
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)': the synced folder '\(folder.summary)' is to be owned by '\(owner)', which is not a user of the guest",
        hint: "Fix `owner:` (or `group:`) on the `sync` line, or create the user first.")
    default: break
    }
    throw CaravanError(
      .guest,
      "machine '\(machine.name)': could not make the destination '\(folder.destination)' of the synced folder '\(folder.source)' (exit status \(status))"
        + (output.isEmpty ? "" : ": " + output.joined(separator: " / ")),
      hint: "Check the destination, and that the login user '\(machine.ssh.user)' may use `sudo -n`.")
  }

  /// The guest command run before rsync: exit 127 without rsync, 3 for an unknown
  /// owner; prints the owner's group. Every value reaches the script as an argument.
  static func prepareCommand(destination: String, owner: String, group: String?) -> String {
    "sh -c \(shellQuote(prepareScript)) caravan-sync "
      + [destination, owner, group ?? ""].map(shellQuote).joined(separator: " ")
  }

  static let prepareScript = #"""
    command -v rsync >/dev/null 2>&1 || exit 127
    id -u -- "$2" >/dev/null 2>&1 || exit 3
    sudo -n mkdir -p -- "$1" || exit 1
    if [ -z "$3" ]; then id -gn -- "$2"; fi
    """#

  /// rsync's arguments, each one a word of its own (no shell on the host); the paths
  /// reach the guest's rsync through rsync's own protocol (`--protect-args`), not
  /// through the guest's shell. `SRC/` copies the folder's contents into `DST`.
  /// `--delete` never reaches a `.ssh` folder in the destination (a protect filter):
  /// the login user's `authorized_keys` stays even if the destination holds a home.
  static func rsyncArguments(
    source: String, destination: String, shell: RemoteShell, owner: String, group: String, exclude: [String]
  ) -> [String] {
    var args = [
      "rsync", "--archive", "--delete", FolderSync.protectFilter, "--protect-args", "--chown=\(owner):\(group)",
      "--rsync-path=sudo -n rsync", "-e", remoteShellCommand(shell.arguments),
    ]
    args += exclude.map { "--exclude=\($0)" }
    args += [
      source.hasSuffix("/") ? source : source + "/",
      shell.destination + ":" + (destination.hasSuffix("/") ? destination : destination + "/"),
    ]
    return args
  }

  /// rsync's filter that keeps every `.ssh` folder of the destination (at any depth)
  /// out of `--delete`'s reach; files the host sends there are still copied.
  static let protectFilter = "--filter=P .ssh/"

  /// The ssh command as one string for `-e`, which rsync splits itself, at spaces,
  /// keeping what is in single or double quotes together (a doubled quote inside
  /// is a quote; backslashes are plain): every word is single-quoted.
  static func remoteShellCommand(_ arguments: [String]) -> String {
    arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: " ")
  }
}
