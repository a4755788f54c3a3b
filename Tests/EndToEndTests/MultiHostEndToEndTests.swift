import Foundation
import Testing

/// Issue 25's project on two libvirt hosts: machine `here` on this machine's
/// qemu:///system, machine `there` on a libvirt in a network namespace reached over
/// `qemu+ssh://` (as the remote suite's), each through its own `libvirt { uri }`. A private
/// network shared across the hosts is refused by name before anything is made; `up`,
/// `status` (text and JSON), `ssh` to each, `global-status` and one `destroy -f` leaving
/// nothing on either host.
@Suite(
  .guestSlots(2, minutes: 6),
  .serialized,
  .enabled(
    if: Harness.enabled && NetworkNamespace.available,
    "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`), and root for the network namespace"))
struct MultiHostEndToEnd {
  @Test func twoMachinesOfOneProjectOnTwoLibvirtHosts() throws {
    let h = try Harness(name: "multihost")
    defer { h.cleanUp() }
    let ns = try NetworkNamespace(name: "cvmh\(getpid())", ssh: true)
    defer { ns.stop() }
    let address = try #require(ns.address)
    let remote = "qemu+ssh://root@\(address)/system"
    func caravan(_ args: String..., in directory: String) throws -> Harness.Output {
      try h.run(ns.client([Harness.binary] + args), in: directory)
    }
    // A folder name of its own: domains are named after it, and other suites run beside this one.
    let project = h.root + "/twohosts"
    let machines = """
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      machine "here" {
        libvirt { uri "qemu:///system"; accel tcg }
        provision shell, inline: "echo here > /var/tmp/where"
      }
      machine "there" {
        libvirt { uri "\(remote)"; accel tcg }
        provision shell, inline: "echo there > /var/tmp/where"
      }
      """
    #expect(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    defer { _ = try? caravan("box", "remove", "caravan/debian-12", "--force", in: h.root) }

    // One private network across the two hosts: refused by name, nothing made.
    try h.write(
      machines.replacingOccurrences(of: "  provision shell", with: "  network private, dhcp: true\n  provision shell"),
      to: "twohosts/Machinefile")
    let refused = try caravan("up", in: project)
    #expect(refused.status == 1, "\(refused)")
    #expect(
      refused.stderr.contains(
        "machines 'here' (on qemu:///system) and 'there' (on \(remote)) share the private network"),
      "\(refused)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains("caravan-twohosts-"))
    #expect(try !ns.virsh(["list", "--all", "--name"]).stdout.contains("caravan-twohosts-"))

    try h.write(machines, to: "twohosts/Machinefile")
    let up = try caravan("up", in: project)
    defer { _ = try? caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    let status = try caravan("status", "--json", in: project)
    let rows = try #require(
      ((try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any])?["machines"]
        as? [[String: Any]], "\(status)")
    #expect(rows.map { $0["state"] as? String } == ["running", "running"], "\(status)")
    #expect(rows.map { $0["uri"] as? String } == ["qemu:///system", remote], "\(status)")
    let domains = rows.compactMap { $0["domain"] as? String }
    try #require(domains.count == 2)
    // Each domain and its disk is on its own host only.
    #expect(try Harness.virsh("list", "--name").stdout.contains(domains[0]))
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domains[1]))
    #expect(try ns.virsh(["list", "--name"]).stdout.contains(domains[1]))
    #expect(try !ns.virsh(["list", "--all", "--name"]).stdout.contains(domains[0]))
    let text = try caravan("status", in: project).stdout
    #expect(text.contains("via root@\(address)") && text.split(separator: "\n").count == 2, "\(text)")

    for (machine, expected) in [("here", "here"), ("there", "there")] {
      let answer = try caravan("ssh", machine, "-c", "cat /var/tmp/where", in: project)
      #expect(answer.status == 0 && answer.stdout == "\(expected)\n", "\(machine): \(answer)")
    }
    let global = try caravan("global-status", "--json", in: project)
    #expect(global.stdout.contains(domains[0]) && global.stdout.contains(domains[1]), "\(global)")
    #expect(!global.stdout.contains("\"not created\""), "each machine asked on its own host: \(global)")

    let destroy = try caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domains[0]))
    #expect(try !ns.virsh(["list", "--all", "--name"]).stdout.contains(domains[1]))
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(domains[0]))
    #expect(try !ns.virsh(["vol-list", "caravan"]).stdout.contains(domains[1]))
    #expect(try caravan("status", in: project).stdout.components(separatedBy: "not created").count == 3)
  }
}
