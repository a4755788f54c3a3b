import Foundation
import Testing

/// What users do behind Caravan's back, on one real guest: `rm -rf .caravan`,
/// another libvirt URI, `virsh destroy`, `virsh undefine`, `virsh vol-delete`
/// of the machine's disk. After each the user still gets in, and one
/// `destroy -f` leaves nothing.
@Suite(
  .guestSlot(minutes: 7), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct DriftTests {
  @Test func everyDriftIsReconciledAndNobodyIsLockedOut() throws {
    // The new machine restores the test box's saved state; its own disk boots cold (after
    // `virsh destroy` and `undefine`), and so does its domain on a new disk (after `vol-delete`).
    let f = try Faults(name: "drift", warm: true)
    defer { f.cleanUp() }
    let project = f.project
    let h = f.h
    try #require(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }
    try f.getsIn(provisionedOnce: true)
    let domain = try #require(
      try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        .first { $0.hasPrefix(f.domainPrefix) })

    // `.caravan/` deleted under a running machine: adopted from libvirt, same key, nothing run twice.
    let key = try Data(contentsOf: URL(fileURLWithPath: project + "/.caravan/machines/default/id_ed25519"))
    try FileManager.default.removeItem(atPath: project + "/.caravan")
    let adopted = try h.caravan("ssh", "-c", "wc -l < /var/tmp/marks", in: project)
    #expect(adopted.status == 0 && adopted.stdout.split(separator: "\n").last == "1", "\(adopted)")
    #expect(adopted.stderr.contains("adopted it"), "ssh -c reports on standard error: \(adopted)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: project + "/.caravan/machines/default/id_ed25519")) == key)
    let again = try h.up(in: project)
    #expect(again.status == 0 && again.stdout.contains("already running"), "\(again)")
    #expect(!again.stdout.contains("running provisioner"), "a once provisioner ran again: \(again)")

    // Another libvirt URI: refused, naming both; nothing forgotten.
    let other = try h.caravan("halt", in: project, environment: ["CARAVAN_LIBVIRT_URI": "test:///default"])
    #expect(other.status == 1, "\(other)")
    #expect(other.stderr.contains("was made on libvirt 'qemu:///system'"), "\(other)")
    #expect(other.stderr.contains("uses 'test:///default'"), "\(other)")
    #expect(FileManager.default.fileExists(atPath: project + "/.caravan/machines/default/state.json"))
    #expect(try h.caravan("status", in: project).stdout.contains("running"))

    // `virsh destroy`: seen at once; `up` boots it again and nothing is provisioned twice.
    _ = try Harness.virsh("destroy", domain)
    #expect(try h.caravan("status", in: project).stdout.contains("poweroff"))
    try f.getsIn(provisionedOnce: true)

    // `virsh undefine` (its disk stays): `up` reuses the disk. An `up` whose provisioner
    // fails keeps it (and removes only the domain it defined); the next `up`, the
    // provisioner fixed, reuses it again: the old files are there, nothing runs twice.
    _ = try Harness.virsh("destroy", domain)
    _ = try Harness.virsh("undefine", domain)
    #expect(try h.caravan("status", in: project).stdout.contains("not created"))
    try h.write(
      f.machinefile + "provision shell, name: \"gate\", inline: \"echo the gate is shut; exit 7\"\n",
      to: "drift/Machinefile")
    let failed = try h.up(in: project)
    #expect(failed.status == 1, "\(failed)")
    #expect(failed.stdout.contains("reusing the disk of machine 'default'"), "\(failed)")
    #expect(failed.stderr.contains("The machine's disk is kept"), "\(failed)")
    #expect(!failed.stdout.contains("running provisioner 'mark'"), "\(failed)")
    #expect(try Harness.virsh("vol-list", "caravan").stdout.contains(domain + ".qcow2"), "the disk is kept")
    try h.write(
      f.machinefile
        + "provision shell, name: \"gate\", inline: \"test -s /var/tmp/marks && echo old files here > /var/tmp/gate\"\n",
      to: "drift/Machinefile")
    let fixed = try h.up(in: project)
    #expect(fixed.status == 0, "\(fixed)")
    #expect(fixed.stdout.contains("reusing the disk of machine 'default'"), "\(fixed)")
    #expect(fixed.stdout.contains("running provisioner 'gate'"), "\(fixed)")
    #expect(try h.caravan("ssh", "-c", "cat /var/tmp/gate", in: project).stdout == "old files here\n")
    try f.getsIn(provisionedOnce: true)
    try h.write(f.machinefile, to: "drift/Machinefile")

    // `virsh vol-delete` of a stopped machine's disk: `up` makes a new disk from the box.
    #expect(try h.caravan("halt", in: project).status == 0)
    let deleted = try Harness.virsh("vol-delete", domain + ".qcow2", "--pool", "caravan")
    #expect(deleted.status == 0, "\(deleted)")
    let remade = try h.up(in: project)
    #expect(remade.status == 0, "\(remade)")
    #expect(remade.stdout.contains("its disk is gone from the storage pool"), "\(remade)")
    try f.getsIn(provisionedOnce: true)
    try f.destroyLeavesNothing()
  }
}

extension Faults {
  static func date(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
  }
}
