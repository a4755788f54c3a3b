// A rootfs box boots reachable: when the Boxfile's packages and postinstall left the root
// with no network configuration, DHCP on the first NIC with whatever the image has. The
// kernel command line Caravan writes (net.ifnames=0) names that NIC eth0; the networkd
// match also takes the predictable names, should a postinstall drop net.ifnames=0.

import Foundation
import Support

struct RootfsNetwork {
  enum Manager: Equatable {
    /// Debian's ifupdown with a DHCP client: a stanza in /etc/network/interfaces.
    case ifupdown
    /// systemd-networkd (in Debian's systemd package): a .network file, the unit enabled.
    case networkd
  }

  /// What the build does: keep the root's own configuration (the file that has it), or
  /// write the default for a manager, or nothing when the image has none.
  enum Plan: Equatable {
    case keep(String)
    case write(Manager)
    case noManager
  }

  static let interfacesStanza = """

    # Written by caravan build: DHCP on the first NIC (net.ifnames=0 names it eth0).
    allow-hotplug eth0
    iface eth0 inet dhcp

    """
  static let networkFile = "/etc/systemd/network/10-caravan-dhcp.network"
  static let networkFileText = """
    # Written by caravan build: DHCP on the first NIC, whatever its name.
    [Match]
    Name=en* eth*

    [Network]
    DHCP=yes

    """

  let root: String
  let log: BuildLog

  static func plan(root: String) -> Plan {
    if let existing = existingConfiguration(root: root) { return .keep(existing) }
    return manager(root: root).map(Plan.write) ?? .noManager
  }

  /// The first file that configures an interface other than lo: a systemd-networkd
  /// `.network` file, an ifupdown stanza, a NetworkManager connection.
  static func existingConfiguration(root: String) -> String? {
    let fileManager = FileManager.default
    for folder in ["/etc/systemd/network", "/etc/NetworkManager/system-connections"] {
      let names = ((try? fileManager.contentsOfDirectory(atPath: root + folder)) ?? []).sorted()
      let kept = names.filter { folder.hasSuffix("network") ? $0.hasSuffix(".network") : !$0.hasPrefix(".") }
      if let first = kept.first { return folder + "/" + first }
    }
    let included = ((try? fileManager.contentsOfDirectory(atPath: root + "/etc/network/interfaces.d")) ?? [])
      .sorted().map { "/etc/network/interfaces.d/" + $0 }
    for path in ["/etc/network/interfaces"] + included {
      guard let data = fileManager.contents(atPath: root + path) else { continue }
      if configuresAnInterface(String(decoding: data, as: UTF8.self)) { return path }
    }
    return nil
  }

  /// Whether ifupdown text has an `iface`, `auto`, `allow-*` or `mapping` line for an
  /// interface other than lo.
  static func configuresAnInterface(_ text: String) -> Bool {
    for line in text.split(separator: "\n") {
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard let keyword = words.first, !keyword.hasPrefix("#") else { continue }
      let names: ArraySlice<Substring>
      switch keyword {
      case "iface", "mapping": names = words.dropFirst().prefix(1)
      case "auto": names = words.dropFirst()
      case _ where keyword.hasPrefix("allow-"): names = words.dropFirst()
      default: continue
      }
      if names.contains(where: { $0 != "lo" }) { return true }
    }
    return false
  }

  /// ifupdown when it is installed with a DHCP client to run, else systemd-networkd.
  static func manager(root: String) -> Manager? {
    func installed(_ paths: [String]) -> Bool { paths.contains { FileSystem.exists(root + $0) } }
    let ifup = installed(["/sbin/ifup", "/usr/sbin/ifup"])
    let dhcpClient = installed([
      "/sbin/dhclient", "/usr/sbin/dhclient", "/sbin/dhcpcd", "/usr/sbin/dhcpcd", "/sbin/udhcpc", "/usr/sbin/udhcpc",
      "/bin/busybox", "/usr/bin/busybox",
    ])
    if ifup && dhcpClient { return .ifupdown }
    if installed(["/lib/systemd/system/systemd-networkd.service", "/usr/lib/systemd/system/systemd-networkd.service"]) {
      return .networkd
    }
    return nil
  }

  /// After postinstall, in the mounted chroot: the default configuration where there is none.
  func configureDefault() throws {
    switch RootfsNetwork.plan(root: root) {
    case .keep(let path):
      log.step("rootfs", "network: the box configures its own (\(path)); no default added")
    case .noManager:
      log.step(
        "warning",
        "the root file system has no network manager (ifupdown with a DHCP client, or systemd-networkd): "
          + "the box will not be reachable; add ifupdown and isc-dhcp-client to `packages:`")
    case .write(.ifupdown):
      let path = root + "/etc/network/interfaces"
      let current =
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        ?? "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n"
      try FileSystem.makeDirectory(root + "/etc/network")
      try FileSystem.writeAtomically(Data((current + RootfsNetwork.interfacesStanza).utf8), to: path, mode: 0o644)
      log.step("rootfs", "network: DHCP on eth0 with ifupdown (/etc/network/interfaces)")
    case .write(.networkd):
      try FileSystem.makeDirectory(root + "/etc/systemd/network")
      try FileSystem.writeAtomically(
        Data(RootfsNetwork.networkFileText.utf8), to: root + RootfsNetwork.networkFile, mode: 0o644)
      var units = ["systemd-networkd.service"]
      if FileSystem.exists(root + "/lib/systemd/system/systemd-resolved.service") {
        units.append("systemd-resolved.service")
      }
      try Subprocess(["chroot", root, "systemctl", "enable"] + units).checked(step: "enabling systemd-networkd")
      log.step("rootfs", "network: DHCP on the first NIC with systemd-networkd (\(RootfsNetwork.networkFile))")
    }
  }
}
