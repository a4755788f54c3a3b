import Core
import Foundation
import Spec
import Support

/// `provision file`: a host file or folder copied into the guest through the machine's
/// SSH connection, as `scp -r` (and Vagrant's file provisioner) would: a folder's contents
/// go into `destination`, created when missing, or into `destination/NAME` when it is an
/// existing folder; a file goes to `destination`, or into it when it is a folder. Modes are
/// kept, owners are not (the host's user ids mean nothing in the guest). The copy is the
/// login user's where the user may write (as in Vagrant), else it is made as root with
/// `sudo -n` (so `/etc/...` works), owned by root.
extension GuestProvisioner {
  func runFile(
    source: String, destination: String, name: String, machine: MachineSpec, projectRoot: String,
    on communicator: Communicator, reporter: Reporter
  ) throws {
    let path = FileSystem.resolve(source, relativeTo: projectRoot)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw CaravanError(
        .notFound,
        "file provisioner '\(name)' of machine '\(machine.name)': source '\(source)' not found (looked at \(path))",
        hint: "Paths are relative to the folder of the Machinefile.")
    }
    let archive = try GuestProvisioner.archive(path, isDirectory: isDirectory.boolValue)
    // One round trip: the tar is written to a new private file, unpacked, removed.
    let staged = GuestProvisioner.freshPath(name: name)
    let place = GuestProvisioner.placeCommand(
      staged: staged, destination: destination, isDirectory: isDirectory.boolValue,
      name: (path as NSString).lastPathComponent)
    var tail = OutputTail(GuestProvisioner.tailLines)
    let status = try communicator.execute(
      GuestProvisioner.staged(at: staged, exclusive: true, then: place), input: archive
    ) { _, line in
      tail.append(line)
      reporter.detail(machine.name, line)
    }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "file provisioner '\(name)' of machine '\(machine.name)' could not copy '\(source)' to '\(destination)' (exit status \(status))"
          + (tail.isEmpty ? "" : ": " + tail.joined(separator: " / ")),
        hint: "Check the destination, and that \(machine.name)'s user may use sudo when it cannot write there.")
    }
  }

  /// A tar of the host file (by its name) or of the folder's contents, modes kept.
  static func archive(_ path: String, isDirectory: Bool) throws -> Data {
    let args =
      isDirectory
      ? ["tar", "-C", path, "-cf", "-", "."]
      : [
        "tar", "-C", (path as NSString).deletingLastPathComponent, "-cf", "-", "--",
        (path as NSString).lastPathComponent,
      ]
    var data = Data()
    var errors = ""
    let status = try Subprocess(args).run { stream, chunk in
      if stream == .stdout { data.append(chunk) } else { errors += String(decoding: chunk, as: UTF8.self) }
    }
    guard status == 0 else {
      throw CaravanError(
        .io,
        "cannot read '\(path)' to copy it into the guest: \(errors.trimmingCharacters(in: .whitespacesAndNewlines))",
        hint: "Check that you may read every file in it.")
    }
    return data
  }

  /// The guest command that unpacks the staged tar at the destination. The destination,
  /// the staged file and the name reach the script as arguments, never as shell text.
  static func placeCommand(staged: String, destination: String, isDirectory: Bool, name: String) -> String {
    "sh -c \(shellQuote(placeScript)) caravan-file "
      + [destination, staged, isDirectory ? "folder" : "file", name].map(shellQuote).joined(separator: " ")
  }

  static let placeScript = #"""
    set -eu
    dst=$1 staged=$2 kind=$3 name=$4
    case $dst in "~") dst=$HOME ;; "~/"*) dst=$HOME/${dst#"~/"} ;; esac
    while [ "${#dst}" -gt 1 ] && [ "${dst%/}" != "$dst" ]; do dst=${dst%/}; done
    target=$dst
    if [ -d "$dst" ]; then target=${dst%/}/$name; fi
    parent_of() { case $1 in */*) p=${1%/*}; echo "${p:-/}" ;; *) echo . ;; esac; }
    p=$target
    while [ ! -e "$p" ] && [ ! -L "$p" ]; do p=$(parent_of "$p"); done
    as=
    if [ ! -w "$p" ]; then as="sudo -n"; fi
    if [ "$kind" = folder ]; then
      $as mkdir -p -- "$target"
      $as tar -x -p --no-same-owner -f "$staged" -C "$target"
    else
      parent=$(parent_of "$target")
      $as mkdir -p -- "$parent"
      tmp=$($as mktemp -d "$parent/.caravan-file.XXXXXXXX")
      if $as tar -x -p --no-same-owner -f "$staged" -C "$tmp" && $as mv -f -- "$tmp/$name" "$target"; then
        $as rmdir -- "$tmp"
      else
        $as rm -rf -- "$tmp"
        exit 1
      fi
    fi
    """#
}
