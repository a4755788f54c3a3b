// The rootfs strategy: no installer VM. mmdebstrap makes the root file system in a folder,
// Caravan writes what makes it boot (fstab, extlinux.conf), the postinstall steps run in a
// chroot of it, `mkfs.ext4 -d` writes it straight into a partition of a raw image (no
// partition device nodes needed), extlinux makes that bootable.

import Foundation
import Spec
import Support

struct RootfsStrategy {
  let spec: BuildSpec
  let work: String
  let log: BuildLog
  var tools: HostTools { HostTools(log: log) }

  /// What every rootfs box needs to boot and be reached, before the Boxfile's own packages.
  static let basePackages = [
    "linux-image-amd64", "initramfs-tools", "systemd-sysv", "udev", "dbus", "kmod", "iproute2", "openssh-server",
    "sudo", "ca-certificates", "zstd",
  ]
  static let partitionOffset: UInt64 = 1 << 20

  /// The packages mmdebstrap installs: the base ones, then the Boxfile's. An item of
  /// `packages:` may name several, split at commas and blanks (so one `${var}` can add a
  /// list, or nothing when it is empty); each package once, in the order first named.
  static func packages(_ items: [String]) -> [String] {
    var seen = Set<String>()
    let named = items.flatMap { $0.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init) }
    return (basePackages + named).filter { seen.insert($0).inserted }
  }
  static let mbr = "/usr/lib/EXTLINUX/mbr.bin"

  static func checkHost() throws {
    guard getuid() == 0 else {
      throw CaravanError(
        .invalidInput,
        "`caravan build` of a rootfs Boxfile needs root, and you are \(NSUserName()) (uid \(getuid())): mmdebstrap --mode=root, loop devices (losetup), mount and chroot make its disk",
        hint:
          "Run it as root: `sudo caravan build …` (the box it makes is then added by each user with `caravan box add`). The installer and iso strategies build as a normal user."
      )
    }
    try HostTools.require(
      [
        ("mmdebstrap", "mmdebstrap"), ("mkfs.ext4", "e2fsprogs"), ("sfdisk", "fdisk"), ("extlinux", "extlinux"),
        ("qemu-img", "qemu-utils"), ("losetup", "mount"),
      ], for: "the rootfs strategy")
    guard FileSystem.exists(mbr) else {
      throw CaravanError(.notFound, "\(mbr) is missing (the boot sector)", hint: "Install it: apt-get install extlinux")
    }
  }

  /// Builds the disk; returns the raw image's path.
  func run(postinstall: (ChrootSteps) throws -> Void) throws -> String {
    try RootfsStrategy.checkHost()
    let root = work + "/rootfs"
    let uuid = UUID().uuidString.lowercased()
    let suite = spec.suite ?? "bookworm"
    let mirror = spec.mirror ?? "http://deb.debian.org/debian"
    let packages = RootfsStrategy.packages(spec.packages)
    log.step("rootfs", "mmdebstrap \(suite) from \(mirror) (\(packages.count) packages)")
    // INITRD=No: the kernel's postinst makes no initramfs, and initramfs-tools' trigger then
    // finds none to update; `makeInitramfs` makes it once (dpkg would make it twice, 30 s
    // each). force-unsafe-io: no fsync per file, the tree is copied into the image anyway.
    try tools.run(
      [
        "mmdebstrap", "--variant=minbase", "--mode=root", "--include=" + packages.joined(separator: ","),
        "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*", "--dpkgopt=path-include=/usr/share/locale/locale.alias",
        "--dpkgopt=force-unsafe-io", suite, root, mirror,
      ], step: "mmdebstrap", environment: ProcessInfo.processInfo.environment.merging(["INITRD": "No"]) { $1 },
      show: true,
      hint: "Check that the mirror \(mirror) is reachable and has suite '\(suite)' and every package named.")
    try configureBoot(root: root, uuid: uuid)
    let chroot = ChrootSteps(root: root, log: log)
    try chroot.mountSpecial()
    do {
      try makeInitramfs(root: root)
      try postinstall(chroot)
      try RootfsNetwork(root: root, log: log).configureDefault()
      chroot.unmountSpecial()
    } catch {
      chroot.unmountSpecial()
      throw error
    }
    return try makeDisk(root: root, uuid: uuid)
  }

  /// An initramfs for each installed kernel that has none (all of them, after mmdebstrap
  /// with INITRD=No), in the chroot, before postinstall (whose steps may expect one).
  private func makeInitramfs(root: String) throws {
    let kernels = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/boot")) ?? [])
      .filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }.sorted()
    for version in kernels where !FileSystem.exists(root + "/boot/initrd.img-" + version) {
      log.step("rootfs", "initramfs for kernel \(version)")
      try tools.run(
        ["chroot", root, "update-initramfs", "-c", "-k", version], step: "update-initramfs",
        environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"],
        show: true, hint: "The kernel \(version) in the new root file system needs an initramfs to boot.")
    }
    // Debian's /initrd.img link (what extlinux.conf boots, and what kernel upgrades move) is
    // made by the kernel's postinst only when the initramfs exists then.
    let link = root + "/initrd.img"
    if let newest = kernels.last, (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil {
      try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "boot/initrd.img-" + newest)
    }
  }

  /// fstab, the boot loader's configuration and the host name: what Caravan's disk layout
  /// decides (users and keys are the postinstall scripts' business; the network too, with
  /// `RootfsNetwork`'s DHCP default after them when they configure none).
  private func configureBoot(root: String, uuid: String) throws {
    log.step("rootfs", "boot configuration (extlinux, root=UUID=\(uuid))")
    let host = spec.hostname
    let files: [(String, String, mode_t)] = [
      ("/etc/fstab", "UUID=\(uuid)\t/\text4\terrors=remount-ro\t0\t1\n", 0o644),
      ("/etc/hostname", host + "\n", 0o644),
      ("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t\(host)\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
      (
        "/boot/extlinux/extlinux.conf",
        """
        DEFAULT linux
        TIMEOUT 1
        PROMPT 0
        LABEL linux
          LINUX /vmlinuz
          INITRD /initrd.img
          APPEND root=UUID=\(uuid) ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet

        """, 0o644
      ),
    ]
    for (path, content, mode) in files {
      try FileSystem.makeDirectory(root + (path as NSString).deletingLastPathComponent)
      try FileSystem.writeAtomically(Data(content.utf8), to: root + path, mode: mode)
    }
    guard FileSystem.exists(root + "/vmlinuz") else {
      throw CaravanError(
        .notFound, "the root file system has no /vmlinuz: no kernel was installed",
        hint: "Keep linux-image-amd64 installable from the mirror \(spec.mirror ?? "")")
    }
  }

  private func makeDisk(root: String, uuid: String) throws -> String {
    let image = work + "/disk.raw"
    let mebibytes = spec.diskBytes >> 20
    log.step("disk", "raw image of \(mebibytes) MiB, one ext4 partition from 1 MiB")
    guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, off_t(spec.diskBytes)) == 0
    else { throw FileSystem.ioError("create the disk image", image) }
    try Subprocess(["sfdisk", "--quiet", "--label", "dos", image], input: Data("start=2048, type=83, bootable\n".utf8))
      .checked(step: "partitioning")
    // extlinux 6.04 reads neither 64bit nor metadata_csum file systems.
    try tools.run(
      [
        "mkfs.ext4", "-q", "-F", "-L", "root", "-U", uuid, "-O", "^64bit,^metadata_csum", "-E",
        "offset=\(RootfsStrategy.partitionOffset)", "-d", root, image, "\(mebibytes - 1)M",
      ], step: "mkfs.ext4",
      hint: "The root file system may not fit: raise `disk` in the Boxfile.")
    log.step("disk", "boot loader (extlinux and the MBR boot code)")
    let loop = try tools.run(
      ["losetup", "-f", "--show", "-o", String(RootfsStrategy.partitionOffset), image], step: "losetup"
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    let mountPoint = work + "/mnt"
    try FileSystem.makeDirectory(mountPoint)
    do {
      try tools.run(["mount", loop, mountPoint], step: "mounting the root partition")
      defer { _ = try? tools.run(["umount", mountPoint], step: "unmounting") }
      try tools.run(["extlinux", "--install", mountPoint + "/boot/extlinux"], step: "extlinux --install")
    } catch {
      _ = try? tools.run(["losetup", "-d", loop], step: "losetup -d")
      throw error
    }
    try tools.run(["losetup", "-d", loop], step: "losetup -d")
    try tools.run(
      ["dd", "if=\(RootfsStrategy.mbr)", "of=\(image)", "bs=440", "count=1", "conv=notrunc", "status=none"],
      step: "writing the MBR")
    try? FileSystem.removeTree(root)
    return image
  }
}
