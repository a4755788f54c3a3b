import Boxes
import Foundation
import Spec
import Support

/// cloud-init, done by Caravan: the NoCloud seed of a machine on an image box (or
/// with `cloud_init`), the wait for cloud-init to finish after each boot, and the
/// root file system grown to `disk` where cloud-init did not grow it.
extension Lifecycle {
  /// Whether the machine boots with a seed: its box is an image (it has no user or
  /// key but what cloud-init makes), or the Machinefile gives `cloud_init`.
  func usesCloudInit(_ machine: MachineSpec, box: InstalledBox) -> Bool {
    box.metadata.image != nil || machine.cloudInit != nil
  }

  /// The box the machine's record names, when it is installed.
  func recordedBox(_ record: MachineRecord) -> InstalledBox? {
    try? boxes.list().first { $0.name == record.boxName && $0.version == record.boxVersion }
  }

  /// The machine's devices beyond the box's disks, resolved: the root disk's size,
  /// volumes, the seed, the firmware (the Machinefile's, else what the image boots
  /// with), TPM and display.
  func machineDevices(_ machine: MachineSpec, box: InstalledBox) throws -> MachineDevices {
    MachineDevices(
      rootDiskBytes: machine.diskBytes, volumes: machine.volumes,
      seed: usesCloudInit(machine, box: box) ? try cloudInitSeed(machine).image() : nil,
      firmware: firmware(machine, box: box), secureBoot: machine.libvirt.secureBoot, tpm: machine.libvirt.tpm,
      graphics: machine.libvirt.graphics)
  }

  /// The firmware the machine boots with: the Machinefile's `firmware` (`secure_boot`
  /// implies uefi), else what its image boots with (the index's word), else BIOS.
  func firmware(_ machine: MachineSpec, box: InstalledBox?) -> LibvirtSettings.Firmware {
    if machine.libvirt.secureBoot { return .uefi }
    let set = machine.settingsUsed.contains { $0.name == "libvirt.firmware" }
    return set ? machine.libvirt.firmware : (box?.metadata.image?.firmware ?? machine.libvirt.firmware)
  }

  /// The machine's seed: Caravan's user (`ssh { user }`) with passwordless sudo and
  /// the machine's own key (or `private_key`'s public half), its hostname and an
  /// instance id of its own, merged with the user's `cloud_init`.
  func cloudInitSeed(_ machine: MachineSpec) throws -> CloudInitSeed {
    let publicKey = try seedPublicKey(machine)
    let hostname = machine.hostname ?? Lifecycle.defaultHostname(machine.name) ?? "caravan"
    // Stable for the machine's life (its key is made at its first `up`, removed by
    // `destroy`), new for each machine: cloud-init runs its once-per-instance modules once.
    let instanceID = Lifecycle.instanceID(machine, publicKey: publicKey)
    let identity = CloudInitIdentity(
      user: machine.ssh.user, publicKey: publicKey, hostname: hostname, instanceID: instanceID)
    guard let spec = machine.cloudInit else {
      return try CloudInitSeed(identity: identity, userData: nil, source: "")
    }
    let userData: Data
    let source: String
    switch spec.userData {
    case .inline(let text):
      userData = Data(text.utf8)
      source = "'inline:' of 'cloud_init'"
    case .file(let path):
      userData = try readCloudInitFile(path, machine: machine, what: "user_data:")
      source = "'\(path)'"
    }
    let network = try spec.networkConfig.map { try readCloudInitFile($0, machine: machine, what: "network_config:") }
    do {
      return try CloudInitSeed(identity: identity, userData: userData, source: source, networkConfig: network)
    } catch let error as CaravanError {
      throw CaravanError(
        error.kind, "machine '\(machine.name)': \(error.message)", hint: error.hint, cause: error.cause)
    }
  }

  /// The machine's cloud-init instance id: `caravan-NAME-HASH`, the hash of the key
  /// its seed authorizes.
  static func instanceID(_ machine: MachineSpec, publicKey: String) -> String {
    let keyBody = publicKey.split(separator: " ").dropFirst().first.map(String.init) ?? publicKey
    return "caravan-\(machine.name.prefix(40))-\(StableHash.hex(keyBody, length: 12))"
  }

  /// The instance id of the machine's seed (its key is made first if need be).
  func instanceID(_ machine: MachineSpec) throws -> String {
    Lifecycle.instanceID(machine, publicKey: try seedPublicKey(machine))
  }

  /// The public key the seed authorizes: the machine's own (made now if need be), or
  /// `private_key`'s `.pub` beside it.
  private func seedPublicKey(_ machine: MachineSpec) throws -> String {
    let path: String
    if let configured = machine.ssh.privateKey {
      path = FileSystem.resolve(configured, relativeTo: project.root) + ".pub"
      guard FileSystem.exists(path) else {
        throw CaravanError(
          .invalidInput,
          "machine '\(machine.name)': its box is configured by cloud-init, which must authorize the public half of `private_key` ('\(path)' is missing)",
          hint:
            "Put the public key at \(path) (`ssh-keygen -y -f KEY > KEY.pub`), or remove `private_key` to use the machine's own key."
        )
      }
    } else {
      path = try ensureMachineKey(machine) + ".pub"
    }
    guard let data = FileManager.default.contents(atPath: path),
      let line = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !line.isEmpty
    else {
      throw CaravanError(.io, "cannot read the public key '\(path)'", hint: "Check the file and its permissions.")
    }
    return line
  }

  private func readCloudInitFile(_ path: String, machine: MachineSpec, what: String) throws -> Data {
    let resolved = FileSystem.resolve(path, relativeTo: project.root)
    guard let data = FileManager.default.contents(atPath: resolved) else {
      throw CaravanError(
        .invalidInput, "machine '\(machine.name)': cannot read '\(what)' of 'cloud_init', '\(resolved)'",
        hint: "Check that the file exists and is readable, or change the path in \(project.machinefilePath).")
    }
    return data
  }

  /// After SSH: waits for cloud-init to finish (`cloud-init status --wait`), then fails
  /// naming its error and the end of its output log when it reports one. With a
  /// `deadline` (a guest whose SSH answered but whose login may not be made yet),
  /// SSH's own failures (status 255) are tried again until then.
  func waitForCloudInit(
    _ machine: MachineSpec, communicator: Communicator, guest: String = "", deadline: Date? = nil
  ) throws {
    let whose = guest.isEmpty ? "" : " in \(guest)"
    reporter.step(machine.name, "waiting for cloud-init to finish\(whose)")
    var said = ""
    var status: Int32 = 255
    while true {
      said = ""
      status = try communicator.execute("cloud-init status --wait --long 2>&1") { _, line in said += line + "\n" }
      guard status == 255, let deadline, Date() < deadline else { break }
      try interrupt.check()
      Thread.sleep(forTimeInterval: 1)
    }
    switch status {
    case 0:
      reporter.step(machine.name, "cloud-init is done\(whose)")
    case 127:
      reporter.warning(
        "machine '\(machine.name)': the guest has no cloud-init command; its seed was attached but nothing says it was read"
      )
    default:
      var log = ""
      _ = try? communicator.execute("sudo -n tail -n 15 /var/log/cloud-init-output.log") { _, line in log += line + "\n"
      }
      let detail = said.split(separator: "\n").filter { $0.contains("rror") || $0.contains("status:") }.map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      throw CaravanError(
        .guest,
        "machine '\(machine.name)': cloud-init reported an error\(whose) (exit status \(status)): \(detail.joined(separator: "; "))\nThe last lines of /var/log/cloud-init-output.log:\n\(log.trimmingCharacters(in: .newlines))",
        hint:
          "Fix the `cloud_init` data in \(project.machinefilePath), then `caravan destroy -f \(machine.name) && caravan up \(machine.name)` (cloud-init runs once per machine); `caravan ssh \(machine.name) -c 'cloud-init status --long'` says more."
      )
    }
  }

  /// Grows the root partition and file system to the disk (`disk`), when cloud-init
  /// did not (a `.box` without it): `growpart`, then `resize2fs`, `xfs_growfs` or
  /// `btrfs filesystem resize`. Says so when the guest lacks growpart.
  func growRootFileSystem(_ machine: MachineSpec, communicator: Communicator) throws {
    var said = ""
    let status = try communicator.execute(Lifecycle.growRootScript) { _, line in said += line + "\n" }
    let lines = said.split(separator: "\n").map(String.init)
    if lines.contains("caravan: no growpart") {
      reporter.warning(
        "machine '\(machine.name)': its root partition was not grown to `disk`: the guest has no growpart; install cloud-guest-utils in the box (or grow it by hand)"
      )
    } else if let grown = lines.first(where: { $0.hasPrefix("caravan: grown ") }) {
      reporter.step(machine.name, "grew its root file system: \(grown.dropFirst("caravan: grown ".count))")
    }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "machine '\(machine.name)': growing its root file system to `disk` failed (exit status \(status)): \(said.trimmingCharacters(in: .whitespacesAndNewlines))",
        hint: "Look with `caravan ssh \(machine.name) -c 'lsblk; df -h /'`; the disk itself is grown.")
    }
  }

  /// The guest side of `disk`: the root partition to the end of its disk, then its
  /// file system; nothing when both already fill it (cloud-init's growpart did it).
  static let growRootScript = """
    set -u
    root=$(findmnt -no SOURCE / | sed 's/\\[.*//')
    fstype=$(findmnt -no FSTYPE /)
    before=$(df -B1 --output=size / | tail -n 1)
    name=$(basename "$(readlink -f "$root")")
    if [ -e "/sys/class/block/$name/partition" ]; then
      part=$(cat "/sys/class/block/$name/partition")
      disk=/dev/$(basename "$(readlink -f "/sys/class/block/$name/..")")
      if ! command -v growpart >/dev/null 2>&1; then echo "caravan: no growpart"; exit 0; fi
      out=$(sudo -n growpart "$disk" "$part" 2>&1); rc=$?
      case "$out" in *NOCHANGE*) rc=0 ;; esac
      [ $rc -eq 0 ] || { echo "$out"; exit $rc; }
    fi
    case "$fstype" in
      ext2|ext3|ext4) out=$(sudo -n resize2fs "$root" 2>&1) || { echo "$out"; exit 1; } ;;
      xfs) sudo -n xfs_growfs / >/dev/null || exit $? ;;
      btrfs) sudo -n btrfs filesystem resize max / >/dev/null || exit $? ;;
      *) echo "caravan: cannot grow a $fstype root"; exit 0 ;;
    esac
    sync
    after=$(df -B1 --output=size / | tail -n 1)
    [ "$after" = "$before" ] || echo "caravan: grown $(df -h --output=size / | tail -n 1 | tr -d ' ') ($fstype on $root)"
    """
}
