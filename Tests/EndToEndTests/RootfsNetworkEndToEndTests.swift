import Foundation
import Testing

/// A rootfs Boxfile written as a user would: the packages a Debian box needs, the Vagrant key
/// and sudoers in a postinstall, and nothing about the network. The strategy's default (DHCP
/// on the first NIC, here with ifupdown) makes it a box that answers SSH; `box verify` that
/// gives up early says what the console shows.
@Suite(.guestSlot(minutes: 4), .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct RootfsNetworkEndToEndTests {
  static let insecureKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key"
  static let mirror = ProcessInfo.processInfo.environment["CARAVAN_E2E_MIRROR"] ?? "http://deb.debian.org/debian"

  @Test func aUserWrittenRootfsBoxBootsReachable() throws {
    let h = try Harness(name: "rootfs-network")
    defer { h.cleanUp() }
    try h.write(
      """
      version 1
      build "me/debian-mine", version: "1.0.0" {
        strategy rootfs
        from suite: "bookworm", mirror: "\(Self.mirror)",
             packages: ["linux-image-amd64", "openssh-server", "sudo", "ifupdown", "isc-dhcp-client"]
        disk 2GiB
        ssh { user "vagrant"; password "vagrant" }
        postinstall shell, inline: \"\"\"
          useradd --create-home --shell /bin/bash vagrant
          install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
          echo '\(Self.insecureKey)' > /home/vagrant/.ssh/authorized_keys
          chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys
          chmod 0600 /home/vagrant/.ssh/authorized_keys
          echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/vagrant
          chmod 0440 /etc/sudoers.d/vagrant
          \"\"\"
        output "out/mine.box"
      }
      """, to: "b/Boxfile")
    let started = Date()
    let build = try h.caravan("build", "b", in: h.root)
    #expect(build.status == 0, "\(build)")
    #expect(build.stdout.contains("network: DHCP on eth0 with ifupdown"), "\(build)")
    print("rootfs build: \(Int(Date().timeIntervalSince(started))) s")
    guard build.status == 0 else { return }
    let box = h.root + "/b/out/mine.box"

    // Given up on before the guest can answer: the error says what the console shows.
    let early = try h.caravan("box", "verify", box, "--boot-timeout", "3", in: h.root)
    #expect(early.status == 1, "\(early)")
    // With `quiet`, nothing reaches the serial console in 3 s of a TCG boot.
    #expect(early.stderr.contains("The console shows no boot: nothing from the kernel or systemd"), "\(early)")

    let verifyStarted = Date()
    let verify = try h.caravan("box", "verify", box, in: h.root)
    #expect(verify.status == 0, "\(verify)")
    for point in [
      "boots, SSH with the insecure key: ok", "passwordless sudo: ok", "DHCP address on the first NIC: ok (eth0 ",
    ] {
      #expect(verify.stdout.contains(point), "\(point)\n\(verify)")
    }
    print("box verify: \(Int(Date().timeIntervalSince(verifyStarted))) s")
  }
}
