import Core
import Foundation
import Host
import Spec
import Support

/// `sync SRC -> DST, type: 9p | virtiofs`: the domain shares the host folder under a
/// tag (see `sharedFolders`); here the guest mounts it, as root, at `up` and after
/// every boot. A folder added while the machine ran is not in its running domain:
/// the error says `caravan reload` (which defines the domain again) is needed.
extension FolderSync {
  func mount(_ folder: SyncSpec, machine: MachineSpec, on communicator: Communicator, reporter: Reporter) throws {
    reporter.step(machine.name, "mounting \(folder.source) at \(folder.destination) (\(folder.kind.rawValue))")
    var output: [String] = []
    let status = try communicator.execute(FolderSync.mountCommand(folder)) { _, line in output.append(line) }
    let argument = machine.name == "default" ? "" : " " + machine.name
    switch status {
    case 0: return
    case 3:
      throw CaravanError(
        .conflict,
        "machine '\(machine.name)': the synced folder '\(folder.summary)' is not shared with the running machine (it was added after the machine started)",
        hint: "Run `caravan reload\(argument)`: the machine is defined again with the folder and boots with it.")
    default:
      throw CaravanError(
        .guest,
        "machine '\(machine.name)': could not mount the synced folder '\(folder.summary)' (exit status \(status))"
          + (output.isEmpty ? "" : ": " + output.joined(separator: " / ")),
        hint:
          "Check that the guest's kernel has \(folder.kind == .ninep ? "9p (modules 9p, 9pnet_virtio)" : "virtiofs") and that the login user '\(machine.ssh.user)' may use `sudo -n`; a folder added while the machine ran needs `caravan reload\(argument)`; or use `type: rsync`."
      )
    }
  }

  /// The guest command that mounts the folder (tag, destination and options reach the
  /// script as arguments): exit 3 when the running domain has no device with the tag;
  /// a destination that is already a mount point is left as it is.
  static func mountCommand(_ folder: SyncSpec) -> String {
    let type = folder.kind == .ninep ? "9p" : "virtiofs"
    let options = folder.kind == .ninep ? "trans=virtio,version=9p2000.L,msize=\(ninepMessageSize)" : "defaults"
    return "sh -c \(shellQuote(mountScript)) caravan-mount "
      + [tag(folder), folder.destination, type, options].map(shellQuote).joined(separator: " ")
  }

  static let mountScript = #"""
    tag=$1 dst=$2 type=$3 options=$4
    if [ "$type" = 9p ]; then
      sudo -n modprobe 9pnet_virtio 2>/dev/null
      tags=/sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag
    else
      sudo -n modprobe virtiofs 2>/dev/null
      tags=/sys/fs/virtiofs/*/tag
      # Linux before 6.9 does not list virtiofs tags: then the mount itself tells.
      [ -d /sys/fs/virtiofs ] || tags=
    fi
    if [ -n "$tags" ]; then
      found=
      for f in $tags; do
        [ -r "$f" ] && [ "$(tr -d '\000\n' < "$f")" = "$tag" ] && found=1
      done
      [ -n "$found" ] || exit 3
    fi
    sudo -n mkdir -p -- "$dst" || exit 1
    if mountpoint -q -- "$dst"; then exit 0; fi
    sudo -n mount -t "$type" -o "$options" -- "$tag" "$dst"
    """#

  /// Where a virtiofsd is looked for, in order: `CARAVAN_VIRTIOFSD` (when set, it must
  /// be the one), PATH, then where Debian and Fedora packages put it.
  static let virtiofsdPlaces = HostChecks.virtiofsdPlaces

  func virtiofsDaemon(for folder: SyncSpec, machine: MachineSpec) throws -> String {
    try FolderSync.findVirtiofsd(environment: environment, places: FolderSync.virtiofsdPlaces) { missing in
      CaravanError(
        .notFound,
        "machine '\(machine.name)': the synced folder '\(folder.summary)' needs virtiofsd on the host, and \(missing)",
        hint:
          "Install one (Debian 12 has no virtiofsd package; a newer Debian, a backport or a build of https://gitlab.com/virtio-fs/virtiofsd) and set CARAVAN_VIRTIOFSD to its path, or use `type: 9p` (a live mount QEMU serves itself) or `type: rsync`."
      )
    }
  }

  /// The virtiofsd to use, or the error `refusal` makes from what was missing.
  static func findVirtiofsd(
    environment: [String: String], places: [String], refusal: (String) -> CaravanError
  ) throws -> String {
    if let configured = environment["CARAVAN_VIRTIOFSD"], !configured.isEmpty {
      guard access(configured, X_OK) == 0 else {
        throw refusal("CARAVAN_VIRTIOFSD names '\(configured)', which is not an executable file")
      }
      return configured
    }
    if let found = FileSystem.findProgram("virtiofsd", environment: environment) { return found }
    if let found = places.first(where: { access($0, X_OK) == 0 }) { return found }
    throw refusal("none was found (looked on PATH and at \(places.joined(separator: ", ")))")
  }
}
