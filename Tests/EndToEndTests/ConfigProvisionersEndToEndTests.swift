import Foundation
import Testing

/// The configuration-management provisioners on one real QEMU guest (TCG): the host's
/// ansible-playbook with extra variables, tags and a user's inventory, and masterless Puppet
/// with a module and a fact, at `up`; `provision --provision-with ansible` runs only ansible
/// again; `destroy -f` leaves nothing of the project in libvirt.
@Suite(
  .guestSlot(minutes: 2), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct EndToEndConfigProvisioners {
  /// A value that a shell or a template would mangle: a space, quotes, a `$`.
  static let motd = #"it's a "quoted" value with $HOME"#

  @Test func ansibleAndPuppetConfigureTheGuest() throws {
    let h = try Harness(name: "config-provisioners", warm: true)
    defer { h.cleanUp() }
    let project = h.root + "/proj"
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      provision ansible, name: "play", playbook: "ansible/site.yml", inventory: "ansible/hosts",
        extra_vars: {motd: "it's a \\"quoted\\" value with \\$HOME"}, tags: ["setup"]
      provision puppet, name: "pup", manifest: "puppet/site.pp", modules: "puppet/modules",
        facts: {role: "db server"}, options: ["--verbose"]
      """, to: "proj/Machinefile")
    // The machine is in the user's group `app` by its name, whose variable the play uses.
    try h.write(
      """
      [app]
      default

      [app:vars]
      app_color=teal
      """, to: "proj/ansible/hosts")
    try h.write(
      """
      - hosts: all
        gather_facts: false
        become: true
        tasks:
          - name: the extra variable
            copy: {content: "{{ motd }}", dest: /etc/caravan-motd}
            tags: [setup]
          - name: the group variable
            copy: {content: "{{ app_color }}", dest: /etc/caravan-color}
            tags: [setup]
          - name: count the runs
            shell: echo run >> /var/tmp/ansible-runs
            tags: [setup]
          - name: not tagged, so not run
            copy: {content: "ran", dest: /etc/caravan-untagged}
      """, to: "proj/ansible/site.yml")
    try h.write(
      """
      class greeting {
        file { '/etc/caravan-puppet':
          content => "role=${facts['role']} from module greeting\\n",
          mode    => '0644',
        }
      }
      """, to: "proj/puppet/modules/greeting/manifests/init.pp")
    try h.write(
      """
      include greeting
      exec { 'count the runs':
        command => '/bin/sh -c "echo run >> /var/tmp/puppet-runs"',
      }
      """, to: "proj/puppet/site.pp")
    #expect(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }

    let up = try h.up(in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    #expect(!up.stderr.contains("not supported yet"), "\(up)")
    // Output streamed with the machine's name in front: ansible's tasks, puppet's notices.
    #expect(up.stdout.contains("default: TASK [the extra variable]"), "\(up)")
    #expect(up.stdout.contains("default: Notice: /Stage[main]/Greeting/File[/etc/caravan-puppet]"), "\(up)")
    let domain = try #require(
      try h.caravan("status", in: project).stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })

    /// Runs `command` in the guest with `caravan ssh -c`; its output.
    func guest(_ command: String) throws -> String {
      let out = try h.caravan("ssh", "-c", command, in: project)
      #expect(out.status == 0, "\(command): \(out)")
      return out.stdout
    }
    #expect(try guest("cat /etc/caravan-motd") == Self.motd)
    #expect(try guest("cat /etc/caravan-color") == "teal")
    #expect(try guest("stat -c %U /etc/caravan-motd") == "root\n", "become: true works")
    #expect(try guest("test -e /etc/caravan-untagged && echo ran || echo absent") == "absent\n")
    #expect(try guest("cat /etc/caravan-puppet") == "role=db server from module greeting\n")
    #expect(try guest("stat -c %a /etc/caravan-puppet") == "644\n")
    #expect(try guest("ls -d /tmp/caravan-puppet-* 2>/dev/null | wc -l") == "0\n", "the puppet folder is removed")
    #expect(try guest("wc -l < /var/tmp/ansible-runs; wc -l < /var/tmp/puppet-runs") == "1\n1\n")

    // By type: only ansible runs again.
    let again = try h.caravan("provision", "--provision-with", "ansible", in: project)
    #expect(again.status == 0, "\(again)")
    #expect(again.stdout.contains("running provisioner 'play'") && !again.stdout.contains("'pup'"), "\(again)")
    #expect(try guest("wc -l < /var/tmp/ansible-runs; wc -l < /var/tmp/puppet-runs") == "2\n1\n")

    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    let volumes = try Harness.virsh("vol-list", "caravan").stdout
    #expect(!volumes.contains(domain), "\(volumes)")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"))
  }
}
