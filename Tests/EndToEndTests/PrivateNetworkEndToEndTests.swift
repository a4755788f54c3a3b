import Foundation
import Testing

/// Private and public networks on real guests, in a network namespace the test
/// makes with a libvirtd of its own (no private address is ever defined in the
/// host's libvirtd or sent to from the host's network). Two guests boot once and
/// check: their private network (static and DHCP), dual stack (an IPv6 subnet on
/// the same network, reached both ways), each other's names in both families, a host
/// bridge, a second project's refusal for the same subnet (and for a host
/// route's), a failed `up` taking its new network along, and `destroy`
/// removing both machines and their networks.
@Suite(
  .guestSlots(2, minutes: 3),  // two guests at once
  .serialized,
  .enabled(
    if: Harness.enabled && NetworkNamespace.available,
    "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`) and root for the network namespace"))
struct PrivateNetworkEndToEndTests {
  @Test func twoMachinesOnAPrivateNetworkAndAProjectAskingForTheSameSubnet() throws {
    let h = try Harness(name: "networks")
    defer { h.cleanUp() }
    let ns = try NetworkNamespace(name: "caravan-e2e-\(getpid())")
    defer { ns.stop() }
    func caravan(_ arguments: String..., in folder: String) throws -> Harness.Output {
      try h.run(ns.command([Harness.binary] + arguments), in: h.root + "/" + folder)
    }

    // In the namespace: a bridge for `network public`, and a route a project's subnet will collide with.
    for command in [
      ["ip", "link", "add", "caravanbr0", "type", "bridge"], ["ip", "link", "set", "caravanbr0", "up"],
      ["ip", "link", "add", "caravanbr1", "type", "bridge"],
      ["ip", "addr", "add", "10.99.0.1/24", "dev", "caravanbr1"],
      ["ip", "link", "set", "caravanbr1", "up"],
    ] {
      let out = try Harness.exec(ns.command(command), in: "/", environment: NetworkNamespace.environment)
      try #require(out.status == 0, "\(command): \(out)")
    }
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 640MiB
      cpus 1
      machine "web" {
        hostname "web.local"
        network private, ip: "10.20.0.11"
        network private, ip: "fd00:20::11", prefix: 64
        network public, bridge: "caravanbr0"
      }
      machine "db" {
        hostname "db.local"
        network private, ip: "10.20.0.12"
        network private, ip: "fd00:20::12", prefix: 64
        network private, dhcp: true
      }
      """, to: "alpha/Machinefile")
    try h.write(
      """
      box "caravan/debian-12"
      network private, ip: "10.20.0.21"
      """, to: "beta/Machinefile")
    try h.write(
      """
      box "caravan/debian-12"
      network private, ip: "10.99.0.5"
      """, to: "gamma/Machinefile")
    // A first `up` that fails after its network was made (libvirt refuses the machine type).
    try h.write(
      """
      box "caravan/debian-12"
      network private, ip: "10.30.0.5"
      libvirt {
        machine_type "caravan-no-such-machine"
      }
      """, to: "delta/Machinefile")

    let add = try caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: "")
    try #require(add.status == 0, "\(add)")

    let up = try caravan("up", in: "alpha")
    defer { _ = try? caravan("destroy", "-f", in: "alpha") }
    try #require(up.status == 0, "\(up)")
    let alpha = h.root + "/alpha"
    #expect(!up.stderr.contains("'network'"), "network is supported: \(up)")
    #expect(
      up.stdout.contains(
        "made private network 'caravan-alpha-10.20.0.0-24-fd00-20---64-"),
      "one dual-stack network: \(up)")
    #expect(up.stdout.contains("(10.20.0.0/24 and fd00:20::/64, isolated, host 10.20.0.1 and fd00:20::1)"), "\(up)")
    #expect(up.stdout.contains("made private network 'caravan-alpha-172.28.128.0-24-"), "\(up)")
    #expect(up.stdout.contains(#"network private, ip: "10.20.0.11": eth1 10.20.0.11/24"#), "\(up)")
    #expect(up.stdout.contains(#"network private, ip: "10.20.0.12": eth1 10.20.0.12/24"#), "\(up)")
    #expect(up.stdout.contains(#"network private, ip: "fd00:20::11", prefix: 64: eth2 fd00:20::11/64"#), "\(up)")
    #expect(up.stdout.contains(#"network private, ip: "fd00:20::12", prefix: 64: eth2 fd00:20::12/64"#), "\(up)")
    #expect(up.stdout.contains(#"network private, dhcp: true: eth3 172.28.128."#), "\(up)")
    #expect(up.stdout.contains(#"network public, bridge: "caravanbr0": eth3 asks DHCP"#), "\(up)")

    // The networks: isolated, with Caravan's metadata; one shared by both machines.
    let networks = try ns.virsh("net-list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
      .filter { $0.hasPrefix("caravan-") }
    #expect(networks.count == 2, "\(networks)")
    let shared = try #require(networks.first { $0.hasPrefix("caravan-alpha-10.20.0.0-24-fd00-20---64-") })
    let sharedXML = try ns.virsh("net-dumpxml", shared).stdout
    #expect(sharedXML.contains("<caravan:project>\(alpha)</caravan:project>"), "\(sharedXML)")
    #expect(!sharedXML.contains("<forward"), "isolated: \(sharedXML)")
    #expect(sharedXML.contains("address='10.20.0.1'"), "\(sharedXML)")
    #expect(sharedXML.contains("<ip family='ipv6' address='fd00:20::1' prefix='64'"), "\(sharedXML)")
    let bridged = try ns.run("ip", "-o", "link", "show", "master", "caravanbr0")
    #expect(bridged.stdout.contains("vnet"), "web's public NIC is on the bridge: \(bridged)")

    // Each reaches the other by name, over the private network, in both families
    // (`-w`: an address still in duplicate address detection gets its seconds).
    let fromWeb = try caravan(
      "ssh", "web", "-c",
      "ping -4 -c 1 -W 5 db.local && ping -c 1 -W 5 db && getent ahostsv4 db.local"
        + " && ping -6 -c 1 -w 10 db.local && ping -6 -c 1 -w 10 fd00:20::12 && getent ahostsv6 db.local",
      in: "alpha")
    #expect(fromWeb.status == 0 && fromWeb.stdout.contains("10.20.0.12"), "\(fromWeb)")
    #expect(fromWeb.stdout.contains("fd00:20::12"), "db's IPv6 address is in web's /etc/hosts: \(fromWeb)")
    let fromDB = try caravan(
      "ssh", "db", "-c",
      "ping -4 -c 1 -W 5 web.local && ping -6 -c 1 -w 10 web.local && ip -o addr show && grep web /etc/hosts",
      in: "alpha")
    #expect(fromDB.status == 0 && fromDB.stdout.contains("inet 172.28.128."), "\(fromDB)")
    #expect(fromDB.stdout.contains("inet 10.20.0.12/24"), "\(fromDB)")
    #expect(fromDB.stdout.contains("inet6 fd00:20::12/64"), "\(fromDB)")
    #expect(
      fromDB.stdout.contains("10.20.0.11\tweb.local web") && fromDB.stdout.contains("fd00:20::11\tweb.local web"),
      "/etc/hosts names web in both families: \(fromDB)")
    // The libvirt host has the network's first address in each family.
    let toHost = try caravan(
      "ssh", "web", "-c", "ping -6 -c 1 -w 10 fd00:20::1 && ping -4 -c 1 -W 5 10.20.0.1", in: "alpha")
    #expect(toHost.status == 0, "\(toHost)")

    // A second project asking for the same subnet is refused by name; nothing of it is made.
    let beta = try caravan("up", in: "beta")
    defer { _ = try? caravan("destroy", "-f", in: "beta") }
    #expect(beta.status != 0, "\(beta)")
    #expect(
      beta.stderr.contains(
        "subnet 10.20.0.0/24 of `network private, ip: \"10.20.0.21\"` is used by network '\(shared)' (10.20.0.0/24) of project \(alpha)"
      ), "\(beta)")
    #expect(beta.stderr.contains("Pick an address in another subnet"), "\(beta)")
    // A subnet a host route (in the namespace) covers, the same.
    let gamma = try caravan("up", in: "gamma")
    defer { _ = try? caravan("destroy", "-f", in: "gamma") }
    #expect(gamma.status != 0, "\(gamma)")
    #expect(
      gamma.stderr.contains("is used by the host's route to 10.99.0.0/24 on interface 'caravanbr1'"), "\(gamma)")
    // A failed first `up` removes the network it made.
    let delta = try caravan("up", in: "delta")
    defer { _ = try? caravan("destroy", "-f", in: "delta") }
    #expect(delta.status != 0, "\(delta)")
    #expect(delta.stdout.contains("made private network 'caravan-delta-10.30.0.0-24-"), "\(delta)")
    #expect(delta.stdout.contains("removed network 'caravan-delta-10.30.0.0-24-"), "\(delta)")
    let domains = try ns.virsh("list", "--all", "--name").stdout
    #expect(
      !domains.contains("caravan-beta-") && !domains.contains("caravan-gamma-") && !domains.contains("caravan-delta-"))
    let after = try ns.virsh("net-list", "--all", "--name").stdout
    #expect(
      !after.contains("caravan-beta-") && !after.contains("caravan-gamma-") && !after.contains("caravan-delta-"),
      "\(after)")

    // The first project still works.
    let again = try caravan("ssh", "web", "-c", "ping -c 1 -W 5 db.local", in: "alpha")
    #expect(again.status == 0, "\(again)")

    // `destroy` removes both machines, their disks and, with the last one, the networks.
    let destroy = try caravan("destroy", "-f", in: "alpha")
    #expect(destroy.status == 0, "\(destroy)")
    #expect(destroy.stdout.contains("removed network '\(shared)'"), "\(destroy)")
    #expect(try !ns.virsh("list", "--all", "--name").stdout.contains("caravan-alpha-"))
    #expect(try !ns.virsh("net-list", "--all", "--name").stdout.contains("caravan-"))
    #expect(try !ns.virsh("vol-list", "caravan").stdout.contains("caravan-alpha-"))
  }
}
