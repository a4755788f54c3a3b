import Core
import Foundation
import Host
import Support
import Testing

@testable import LibvirtDriver

/// A remote libvirt that cannot be reached: the error names the URI and libvirt's
/// own words, and the hint what to check, each with its command. Against a closed
/// port on this machine's loopback (libvirt's real ssh transport, refused at once).
struct RemoteConnectionTests {
  @Test func anUnreachableRemoteURISaysWhatToCheck() throws {
    let uri = "qemu+ssh://root@127.0.0.1:1/system?keyfile=/k/id%20a&no_verify=1"
    let error = try #require(throws: CaravanError.self) {
      _ = try LibvirtHypervisor(uri: uri, lockDirectory: NSTemporaryDirectory() + "caravan-remote-\(getpid())")
    }
    #expect(error.message.hasPrefix("cannot connect to libvirt at '\(uri)': "), "\(error)")
    #expect(error.message.contains("Connection refused"), "\(error)")
    let hint = try #require(error.hint)
    #expect(hint.contains("(1) that 127.0.0.1's sshd is reachable and lets root in with the key '/k/id a'"), "\(hint)")
    #expect(hint.contains("`ssh -p 1 -i '/k/id a' -o StrictHostKeyChecking=no root@127.0.0.1 true`"), "\(hint)")
    #expect(hint.contains("the URI's no_verify=1 skips the check"), "\(hint)")
    #expect(hint.contains("(3) that libvirt answers there: `virsh -c '\(uri)' list`"), "\(hint)")
  }

  /// Libvirt on this machine that does not answer: the hint says how to start it (moved
  /// from the Libvirt module, which no longer tells local URIs from remote ones).
  @Test func anUnreachableLocalURISaysHowToStartLibvirt() throws {
    let uri = "qemu:///system?socket=/nonexistent/sock"
    let thrown = try #require(throws: CaravanError.self) {
      _ = try LibvirtHypervisor(uri: uri, lockDirectory: NSTemporaryDirectory() + "caravan-local-\(getpid())")
    }
    #expect(thrown.message.contains("cannot connect to libvirt at '\(uri)'"))
    #expect(thrown.hint?.contains("libvirtd") == true)
    let unix = try #require(throws: CaravanError.self) {
      _ = try LibvirtHypervisor(
        uri: "qemu+unix:///system?socket=/nonexistent/sock",
        lockDirectory: NSTemporaryDirectory() + "caravan-local-\(getpid())")
    }
    #expect(
      unix.hint?.hasPrefix("Is libvirtd running?") == true,
      "qemu+unix:// is this machine too: \(String(describing: unix.hint))")
  }

  @Test func aRemoteURIOverTLSIsToldToUseSSH() {
    let hint = LibvirtHypervisor.howToReach(try! LibvirtURI("qemu+tls://virt.example/system"))
    #expect(hint.contains("`virsh -c 'qemu+tls://virt.example/system' list`"), "\(hint)")
    #expect(hint.contains("use qemu+ssh://"), "\(hint)")
  }
}
