import Foundation
import Testing

@testable import Builder

/// The rootfs strategy's network default: written only where the root configures no
/// network of its own, for the manager the root has.
struct RootfsNetworkTests {
  func root(_ files: [String: String]) throws -> String {
    let root = NSTemporaryDirectory() + "rootfs-network-\(UUID().uuidString)"
    for (path, content) in files {
      try FileManager.default.createDirectory(
        atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try content.write(toFile: root + path, atomically: true, encoding: .utf8)
    }
    return root
  }

  static let networkd = "/lib/systemd/system/systemd-networkd.service"
  static let loopbackOnly = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n"

  @Test func ifupdownWithADHCPClientGetsAStanza() throws {
    let r = try root([
      "/sbin/ifup": "", "/sbin/dhclient": "", Self.networkd: "", "/etc/network/interfaces": Self.loopbackOnly,
    ])
    defer { try? FileManager.default.removeItem(atPath: r) }
    #expect(RootfsNetwork.plan(root: r) == .write(.ifupdown))
    try RootfsNetwork(root: r, log: BuildLog()).configureDefault()
    let text = try String(contentsOfFile: r + "/etc/network/interfaces", encoding: .utf8)
    #expect(text.hasPrefix(Self.loopbackOnly))
    #expect(text.contains("allow-hotplug eth0\niface eth0 inet dhcp\n"))
    // Written once: the root now has its network, and a second pass keeps it.
    #expect(RootfsNetwork.plan(root: r) == .keep("/etc/network/interfaces"))
  }

  @Test func withoutIfupdownOrADHCPClientNetworkdIsUsed() throws {
    let r = try root(["/sbin/ifup": "", Self.networkd: ""])
    defer { try? FileManager.default.removeItem(atPath: r) }
    #expect(RootfsNetwork.plan(root: r) == .write(.networkd))
    #expect(RootfsNetwork.networkFileText.contains("Name=en* eth*"))
    let nothing = try root(["/etc/hostname": "x"])
    defer { try? FileManager.default.removeItem(atPath: nothing) }
    #expect(RootfsNetwork.plan(root: nothing) == .noManager)
  }

  @Test func aRootWithItsOwnNetworkKeepsIt() throws {
    let cases: [[String: String]] = [
      ["/etc/systemd/network/10-dhcp.network": "[Match]\nName=eth*\n"],  // boxes/debian-12's network.sh
      ["/etc/network/interfaces": Self.loopbackOnly + "\nallow-hotplug eth0\niface eth0 inet static\n"],
      [
        "/etc/network/interfaces": Self.loopbackOnly,
        "/etc/network/interfaces.d/ens3": "auto ens3\niface ens3 inet dhcp\n",
      ],
      ["/etc/NetworkManager/system-connections/eth0.nmconnection": "[connection]\n"],
    ]
    for files in cases {
      let r = try root(files.merging(["/sbin/ifup": "", "/sbin/dhclient": "", Self.networkd: ""]) { a, _ in a })
      defer { try? FileManager.default.removeItem(atPath: r) }
      guard case .keep(let path) = RootfsNetwork.plan(root: r) else {
        Issue.record("\(files.keys) should be kept")
        continue
      }
      #expect(files.keys.contains(path), "\(path)")
    }
    // lo alone, comments and a .network file's neighbours do not count.
    #expect(!RootfsNetwork.configuresAnInterface(Self.loopbackOnly + "# iface eth0 inet dhcp\nauto lo\n"))
    #expect(RootfsNetwork.configuresAnInterface("auto lo eth0\n"))
    let readme = try root(["/etc/systemd/network/README": "x", Self.networkd: ""])
    defer { try? FileManager.default.removeItem(atPath: readme) }
    #expect(RootfsNetwork.plan(root: readme) == .write(.networkd))
  }
}
