import Foundation
import Testing

/// Issue 25's `caravan package` on real guests: a provisioned machine becomes a box
/// (and is brought back up, untouched); a `package` killed after the copy was cleaned
/// leaves no box, no running copy, and a machine that boots with its own key; a new
/// machine from the box has the provisioned file, a machine-id and host keys of its own,
/// and got in with the insecure key before its own replaced it; one `destroy -f` each
/// leaves nothing.
@Suite(
  .guestSlots(2, minutes: 6), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct PackageEndToEnd {
  @Test func aProvisionedMachineBecomesABoxAndStaysAsItWas() throws {
    let h = try Harness(name: "package", warm: true)
    defer { h.cleanUp() }
    let source = h.root + "/src"
    let copy = h.root + "/copy"
    try h.write(
      """
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      machine "src" {
        provision shell, inline: "echo provisioned-before-package > /var/tmp/packaged && sync"
      }
      """, to: "src/Machinefile")
    try h.write(
      """
      box "test/packaged"
      memory 768MiB
      cpus 1
      boot_timeout 10m
      """, to: "copy/Machinefile")
    #expect(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }
    defer { _ = try? h.caravan("box", "remove", "test/packaged", "--force", in: h.root) }
    let up = try h.up(in: source)
    defer { _ = try? h.caravan("destroy", "-f", in: source) }
    try #require(up.status == 0, "\(up)")

    func guest(_ project: String, _ command: String) throws -> [String] {
      let out = try h.caravan("ssh", "-c", command, in: project)
      #expect(out.status == 0, "\(command): \(out)")
      return out.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    let identity = "cat /var/tmp/packaged; cat /etc/machine-id; sudo cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub"
    let before = try guest(source, identity)
    try #require(before.count == 3, "\(before)")

    // Packaged while it runs: halted, copied, cleaned, written, brought back as it was.
    let output = h.root + "/out/packaged.box"
    let packaged = try h.caravan(
      "package", "--output", output, "--name", "test/packaged", "--box-version", "1.2.3", "--add", "--json",
      in: source)
    try #require(packaged.status == 0, "\(packaged)")
    let json = try #require(
      (try? JSONSerialization.jsonObject(with: Data(packaged.stdout.utf8))) as? [String: Any], "\(packaged)")
    #expect(json["box"] as? String == output && json["version"] as? String == "1.2.3", "\(json)")
    #expect(json["added"] as? Bool == true, "\(json)")
    #expect(packaged.stderr.contains("halting it to package its disk"), "\(packaged)")
    #expect(packaged.stderr.contains("bringing it back up"), "\(packaged)")
    let catalog = try String(contentsOfFile: h.root + "/out/packaged.json", encoding: .utf8)
    #expect(catalog.contains("\"1.2.3\"") && catalog.contains(json["sha256"] as? String ?? "?"), "\(catalog)")
    let listing = try h.run(["tar", "-tf", output]).stdout
    #expect(listing.contains("metadata.json") && listing.contains("box.img"), "\(listing)")
    #expect(try h.caravan("status", in: source).stdout.contains("running"))
    #expect(try guest(source, identity) == before, "the machine is left exactly as it was")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(".package"), "the copy is gone")

    // Killed once the copy is cleaned: no box, no copy running, the machine boots with its own key.
    #expect(try h.caravan("halt", in: source).status == 0)
    let second = h.root + "/out/second.box"
    let killed = try h.caravan(
      "package", "--output", second, in: source, environment: ["CARAVAN_FAULT_INJECT": "package_clean:end"])
    #expect(killed.status == 9 || killed.status == 137, "killed by SIGKILL: \(killed)")
    #expect(
      !FileManager.default.fileExists(atPath: second) && !FileManager.default.fileExists(atPath: second + ".partial"))
    let running = try Harness.virsh("list", "--name").stdout
    #expect(!running.contains(".package"), "libvirt destroyed the copy with the killed connection: \(running)")
    // The new machine from the box (below) boots meanwhile.
    let copyLog = h.root + "/copy-up.log"
    let copyUp = try h.spawn(["up"], in: copy, log: copyLog)
    defer { _ = try? h.caravan("destroy", "-f", in: copy) }
    let again = try h.caravan("up", in: source)
    #expect(again.status == 0, "\(again)")
    #expect(try guest(source, identity) == before, "after the kill, the machine still is as it was")
    let ownKey = try guest(source, "cat ~/.ssh/authorized_keys")
    #expect(ownKey.count == 1 && ownKey[0].contains("caravan src"), "\(ownKey)")

    // A new machine from the box: the file is there, its identity is its own, the insecure key let it in once.
    copyUp.waitUntilExit()
    let made = (try? String(contentsOfFile: copyLog, encoding: .utf8)) ?? ""
    try #require(copyUp.terminationStatus == 0, "\(made)")
    #expect(made.contains("replacing the box's insecure key"), "\(made)")
    let after = try guest(copy, identity)
    try #require(after.count == 3, "\(after)")
    #expect(after[0] == "provisioned-before-package")
    #expect(after[1].count == 32 && after[1] != before[1], "a new machine-id: \(after[1]) vs \(before[1])")
    #expect(after[2] != before[2], "new SSH host keys")
    let keys = try guest(copy, "cat ~/.ssh/authorized_keys")
    #expect(keys.count == 1 && keys[0].contains("caravan default") && !keys[0].contains("vagrant insecure"), "\(keys)")

    // One `destroy -f` each leaves nothing: the machines, the copy's definition and volumes.
    #expect(try h.caravan("destroy", "-f", in: copy).status == 0)
    #expect(try h.caravan("destroy", "-f", in: source).status == 0)
    let domains = try Harness.virsh("list", "--all", "--name").stdout
    #expect(
      !domains.contains("caravan-src-") && !domains.contains(".package") && !domains.contains("caravan-copy-"),
      "\(domains)")
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!volumes.contains("caravan-src-") && !volumes.contains(".package"), "\(volumes)")
  }
}
