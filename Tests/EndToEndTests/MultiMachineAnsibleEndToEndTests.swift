import Foundation
import Testing

/// Issue 23's multi-machine Ansible, as Vagrant does it: three machines from the warm state,
/// one at a time; the last one's ansible provisioner (`limit: "all"`, `groups:` with
/// children and group variables, `host_vars:`) reaches all three through the inventory
/// Caravan writes, and each has its own name, groups and variable. A halted machine is left
/// out of the inventory at the next `provision`; one `destroy -f` leaves nothing.
@Suite(
  .guestSlots(3, minutes: 3), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct MultiMachineAnsibleEndToEnd {
  @Test func theLastMachinesPlaybookConfiguresEveryMachine() throws {
    let h = try Harness(name: "multi-ansible", warm: true)
    defer { h.cleanUp() }
    let project = h.root + "/mansible"
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 1

      machine "web" {
      }
      machine "db" {
      }
      machine "ctl" {
        provision ansible, name: "everyone", playbook: "site.yml", limit: "all",
          groups: {front: ["web", "ctl"], back: ["d*"], "app:children": [front, back], "app:vars": {tier: "three"}},
          host_vars: {web: {role: "web server"}, db: {role: "database"}, ctl: {role: "controller"}}
      }
      """, to: "mansible/Machinefile")
    try h.write(
      """
      - hosts: all
        gather_facts: false
        become: true
        tasks:
          - name: write what the inventory says of this host
            copy:
              content: "{{ inventory_hostname }}\\n{{ group_names | sort | join(',') }}\\n{{ role }}\\n{{ tier }}\\n"
              dest: /etc/caravan-inventory
      """, to: "mansible/site.yml")
    #expect(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }

    // One at a time, in file order: when ctl is provisioned, web and db have finished their `up`.
    let up = try h.up("--parallel", "1", in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    for host in ["web", "db", "ctl"] {
      #expect(up.stdout.contains("ctl: changed: [\(host)]"), "ctl's play reached \(host): \(up)")
    }
    let expected = [
      "web": "web\napp,front\nweb server\nthree\n",
      "db": "db\napp,back\ndatabase\nthree\n",
      "ctl": "ctl\napp,front\ncontroller\nthree\n",
    ]
    for (machine, text) in expected {
      let written = try h.caravan("ssh", machine, "-c", "cat /etc/caravan-inventory", in: project)
      #expect(written.status == 0 && written.stdout == text, "\(machine): \(written)")
      let owner = try h.caravan("ssh", machine, "-c", "stat -c %U /etc/caravan-inventory", in: project)
      #expect(owner.stdout == "root\n", "\(machine): become: true in the play works: \(owner)")
    }

    // db halted: the inventory lists only the running machines, and the run still succeeds.
    let halt = try h.caravan("halt", "db", in: project)
    #expect(halt.status == 0, "\(halt)")
    let again = try h.caravan("provision", "ctl", in: project)
    #expect(again.status == 0, "\(again)")
    #expect(again.stdout.contains("ok: [web]") && again.stdout.contains("ok: [ctl]"), "\(again)")
    #expect(!again.stdout.contains("[db]"), "a halted machine is not in the inventory: \(again)")

    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    let prefix = "caravan-mansible-"
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(prefix), "a domain is left")
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(prefix), "a volume is left")
  }
}
