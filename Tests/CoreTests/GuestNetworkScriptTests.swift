import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// The scripts Caravan runs in guests for their networks: valid shell, one
/// `configure` per NIC, and an `/etc/hosts` block that is replaced, not added again.
struct GuestNetworkScriptTests {
  static func shell(_ script: String, _ arguments: [String] = []) throws -> Subprocess.Result {
    let path = NSTemporaryDirectory() + "caravan-script-\(UUID().uuidString).sh"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try Subprocess(["sh"] + arguments + [path]).run()
  }

  @Test func configureScriptIsValidShellWithALinePerInterface() throws {
    let address = try #require(IPv4Address("10.20.0.11"))
    let script = GuestNetworkScript.configure([
      GuestInterface(mac: "52:54:00:aa:bb:cc", mode: .static(.v4(address), prefix: 24), waitForAddress: true),
      GuestInterface(mac: "52:54:00:dd:ee:ff", mode: .dhcp, waitForAddress: false),
      GuestInterface(
        mac: "52:54:00:11:22:33", mode: .static(try #require(IPAddress("fd00:20::11")), prefix: 64),
        waitForAddress: true),
    ])
    let syntax = try GuestNetworkScriptTests.shell(script, ["-n"])
    #expect(syntax.status == 0, "\(syntax.stderr)")
    #expect(script.contains("\n  configure 52:54:00:aa:bb:cc static 10.20.0.11 24 255.255.255.0 yes\n"))
    #expect(script.contains("\n  configure 52:54:00:dd:ee:ff dhcp - - - no\n"))
    #expect(script.contains("\n  configure 52:54:00:11:22:33 static6 fd00:20::11 64 - yes\n"), "IPv6: no netmask")
    #expect(script.hasSuffix("  forget_others\n}\ncaravan_main </dev/null\n"), "read whole, run without standard input")
    // Every manager's files are found by MAC, named for it, and brought up with a deadline.
    for expected in [
      "MACAddress=%s", "mac-address=%s", "iface %s inet static", "iface %s inet dhcp",
      "networkctl reconfigure", "nmcli connection up id", "timeout \"$deadline\" ifup", "never-default=true",
      // IPv6: ifupdown's inet6 stanza, networkd keeps the link-local address NDP needs, NetworkManager turns IPv4 off.
      "iface %s inet6 static", "LinkLocalAddressing=%s", "ipv4=\"method=disabled\"", "ip -\"$family\" -o addr show",
    ] {
      #expect(script.contains(expected), "\(expected)")
    }
  }

  @Test func addressLinesAreRead() {
    let output = """
      caravan-network: the network is managed by ifupdown
      caravan-address 52:54:00:aa:bb:cc eth1 10.20.0.11/24
      caravan-address 52:54:00:dd:ee:ff eth2 -
      """
    let found = GuestNetworkScript.addresses(in: output)
    #expect(found["52:54:00:aa:bb:cc"]?.interface == "eth1" && found["52:54:00:aa:bb:cc"]?.address == "10.20.0.11/24")
    #expect(found["52:54:00:dd:ee:ff"]?.interface == "eth2" && found["52:54:00:dd:ee:ff"]?.address == nil)
    #expect(found.count == 2)
  }

  @Test func hostsBlockIsReplacedAndTheRestOfTheFileKept() throws {
    let hosts = NSTemporaryDirectory() + "caravan-hosts-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: hosts) }
    try "127.0.0.1\tlocalhost\n127.0.1.1\tweb.local web\n".write(toFile: hosts, atomically: true, encoding: .utf8)
    let first = try GuestNetworkScriptTests.shell(
      GuestNetworkScript.hosts(
        [("10.20.0.11", ["web.local", "web"]), ("10.20.0.12", ["db"])], file: hosts))
    #expect(first.status == 0, "\(first.stderr)")
    let second = try GuestNetworkScriptTests.shell(
      GuestNetworkScript.hosts([("10.20.0.11", ["web.local", "web"]), ("10.20.0.13", ["db"])], file: hosts))
    #expect(second.status == 0, "\(second.stderr)")
    let text = try String(contentsOfFile: hosts, encoding: .utf8)
    #expect(
      text == """
        127.0.0.1\tlocalhost
        127.0.1.1\tweb.local web
        # caravan: machines of the project, begin
        10.20.0.11\tweb.local web
        10.20.0.13\tdb
        # caravan: machines of the project, end

        """)
  }
}
