import Foundation
import Testing

/// A remote libvirt on one real QEMU guest (TCG): a network namespace stands for a
/// shared virtualisation host, with its own libvirtd and an sshd
/// (`scripts/netns-libvirt.sh --ssh`), reached from the main namespace over a veth pair on
/// 198.18.0.0/15 as `qemu+ssh://root@ADDR/system`. The box is uploaded into the
/// remote pool, the guest's ports are bound on the remote host's loopback, and
/// `up`, `ssh -c`, `ssh-config` with plain `ssh -F`, `port` with its `ssh -L` line,
/// `provision`, `halt`, `destroy` and `box remove` work through the host; nothing is
/// left on either side. Clients run with the namespace's client folder as /root
/// (`netns-libvirt.sh client`), so root's own ~/.ssh is neither read nor written.
@Suite(
  .guestSlot(minutes: 5),
  .serialized,
  .enabled(
    if: Harness.enabled && NetworkNamespace.available,
    "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`), and root for the network namespace"))
struct RemoteLibvirtEndToEnd {
  @Test func upSSHProvisionHaltDestroyThroughARemoteHost() throws {
    let h = try Harness(name: "remote")
    defer { h.cleanUp() }
    let ns = try NetworkNamespace(name: "cvrm\(getpid())", ssh: true)
    defer { ns.stop() }
    let address = try #require(ns.address)
    let uri = "qemu+ssh://root@\(address)/system"
    /// A command in the main namespace, as a user of the remote host.
    func client(_ args: [String], in directory: String, uri: String = uri) throws -> Harness.Output {
      try h.run(ns.client(args), in: directory, environment: ["CARAVAN_LIBVIRT_URI": uri])
    }
    func caravan(_ args: String..., in directory: String) throws -> Harness.Output {
      try client([Harness.binary] + args, in: directory)
    }
    /// virsh on the remote host, inside its namespace.
    func remoteVirsh(_ args: String...) throws -> String {
      try ns.virsh(args).stdout
    }

    let project = h.root + "/proj"
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      cpus 1
      libvirt {
        accel tcg
      }
      forward 28080 -> 8080
      provision shell, name: "serve", inline: \"""
        echo "remote $(hostname)" > /srv/remote.txt
        echo run >> /var/tmp/remote-count
        cd /srv && setsid nohup python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &
        \"""
      """, to: "proj/Machinefile")

    // A URI Caravan cannot reach: the URI, libvirt's words and what to check.
    let closedURI = "qemu+ssh://root@\(address):2/system"
    let unreachable = try client([Harness.binary, "status"], in: project, uri: closedURI)
    #expect(unreachable.status != 0)
    #expect(unreachable.stderr.contains("cannot connect to libvirt at '\(closedURI)': "), "\(unreachable)")
    #expect(unreachable.stderr.contains("Connection refused"), "\(unreachable)")
    #expect(unreachable.stderr.contains("`ssh -p 2 root@\(address) true`"), "\(unreachable)")
    #expect(unreachable.stderr.contains("`virsh -c '\(closedURI)' list`"), "\(unreachable)")

    #expect(try h.caravan("box", "add", "caravan/debian-12", Harness.boxFile, in: h.root).status == 0)
    let up = try caravan("up", in: project)
    defer { _ = try? caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("accelerator: tcg"), "\(up)")
    #expect(up.stdout.contains("-J root@\(address) vagrant@127.0.0.1)"), "\(up)")
    let status = try caravan("status", in: project)
    #expect(status.stdout.contains("running") && status.stdout.contains("via root@\(address)"), "\(status)")
    let domain = try #require(status.stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })

    // The domain and its disks are the remote host's; this machine's libvirt has none of it.
    #expect(try remoteVirsh("list", "--name").contains(domain))
    let remoteVolumes = try remoteVirsh("vol-list", "caravan")
    #expect(remoteVolumes.contains(domain + ".qcow2"), "\(remoteVolumes)")
    #expect(remoteVolumes.contains("caravan-box_caravan-VAGRANTSLASH-debian-12_0_"), "\(remoteVolumes)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    // The guest's SSH is bound on the remote host's loopback, not on this machine's.
    let sshPort = try #require(
      Int(try caravan("port", "--guest", "22", in: project).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    let listening = try ns.run("ss", "-Hltn", "sport = :\(sshPort)")
    #expect(listening.stdout.contains("127.0.0.1:\(sshPort)"), "\(listening)")

    // caravan ssh through the host, exit status passed through.
    let cat = try caravan("ssh", "-c", "cat /srv/remote.txt", in: project)
    #expect(cat.status == 0 && cat.stdout.contains("remote debian-12"), "\(cat)")
    let exit7 = try caravan("ssh", "-c", "exit 7", in: project)
    #expect(exit7.status == 7, "\(exit7)")

    // ssh-config: plain `ssh -F` reaches the guest through the host (ProxyJump).
    let config = try caravan("ssh-config", in: project)
    #expect(config.status == 0 && config.stdout.contains("  ProxyJump root@\(address)\n"), "\(config)")
    try h.write(config.stdout, to: "ssh-config")
    let plain = try client(["ssh", "-F", h.root + "/ssh-config", "default", "cat /srv/remote.txt"], in: h.root)
    #expect(plain.status == 0 && plain.stdout.contains("remote debian-12"), "\(plain)")

    // caravan port: the forward is on the remote host; the printed `ssh -L` brings it here.
    let port = try caravan("port", in: project)
    #expect(port.stdout.contains("    22 (guest) => \(sshPort) (host) [on root@\(address)]\n"), "\(port)")
    #expect(
      port.stdout.contains(
        "    8080 (guest) => 28080 (host) [on root@\(address)]; here: ssh -N -L 28080:127.0.0.1:28080 root@\(address)\n"
      ),
      "\(port)")
    // The forward is 28080, below the ephemeral range (32768-60999): the tunnel binds it on
    // this host, where any client connection may hold an ephemeral port (38080 was one, in CI).
    // The printed `ssh -L` itself, run as a user would, while curl reads the guest's page
    // through it here. One shell for both: with the tunnel running as a child of this
    // process, Foundation's Process missed the exit of the next child (it waited forever).
    let printed = try #require(
      port.stdout.split(separator: "\n").first { $0.contains("here: ") }?.components(separatedBy: "here: ").last)
    let through = try client(
      [
        "sh", "-c",
        """
        $0 & tunnel=$!
        for _ in $(seq 1 50); do curl -s --max-time 2 http://127.0.0.1:28080/remote.txt && break; sleep 0.2; done
        kill $tunnel; wait $tunnel 2>/dev/null; true
        """,
        printed,
      ], in: h.root)
    let page = through.stdout
    #expect(page.contains("remote debian-12"), "through ssh -L: \(through)")

    // provision runs the provisioner again, through the host.
    let provision = try caravan("provision", in: project)
    #expect(provision.status == 0 && provision.stdout.contains("running provisioner 'serve'"), "\(provision)")
    let count = try caravan("ssh", "-c", "wc -l < /var/tmp/remote-count", in: project)
    #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(count)")

    let halt = try caravan("halt", in: project)
    #expect(halt.status == 0 && halt.stdout.contains("powering off through SSH"), "\(halt)")
    #expect(try caravan("status", in: project).stdout.contains("poweroff"))

    let destroy = try caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try caravan("status", in: project).stdout.contains("not created"))
    #expect(try !remoteVirsh("list", "--all", "--name").contains(domain))
    #expect(try !remoteVirsh("vol-list", "caravan").contains(domain))
    let remove = try client([Harness.binary, "box", "remove", "caravan/debian-12", "--force"], in: h.root)
    #expect(remove.status == 0, "\(remove)")
    let left = try remoteVirsh("vol-list", "caravan")
    #expect(!left.contains("caravan-box_"), "the box volume is left in the remote pool: \(left)")
    #expect(!FileManager.default.fileExists(atPath: project + "/.caravan/machines/default"))
  }

  /// A cloud image with UEFI on the remote host: the image is uploaded into the remote
  /// pool, the seed is written there through libvirt (no path on this machine), the
  /// remote libvirt makes the NVRAM file, and `destroy` removes both there.
  @Test(.enabled(if: Harness.cloudImageFolder != nil, "needs CARAVAN_E2E_CLOUD_IMAGE"))
  func aCloudImageWithUEFIBootsOnARemoteHostWithItsSeedAndNVRAMThere() throws {
    let h = try Harness(name: "remotecloud")
    defer { h.cleanUp() }
    let ns = try NetworkNamespace(name: "cvrc\(getpid())", ssh: true)
    defer { ns.stop() }
    let address = try #require(ns.address)
    let index = h.root + "/index.json"
    let server = try CloudImageEndToEnd.serve(writingIndexTo: index)
    defer { server.stop() }
    let env = ["CARAVAN_LIBVIRT_URI": "qemu+ssh://root@\(address)/system", "CARAVAN_IMAGE_INDEX": index]
    func caravan(_ args: String..., in directory: String) throws -> Harness.Output {
      try h.run(ns.client([Harness.binary] + args), in: directory, environment: env)
    }
    let project = h.root + "/proj"
    try h.write(
      """
      box "debian/12"
      memory 768MiB
      boot_timeout 8m
      libvirt { firmware uefi; accel tcg }
      """, to: "proj/Machinefile")
    let up = try caravan("up", in: project)
    defer { _ = try? caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    #expect(up.stdout.contains("cloud-init is done"), "\(up)")
    let status = try caravan("status", in: project)
    let domain = try #require(status.stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })
    let volumes = try ns.virsh(["vol-list", "caravan"]).stdout
    #expect(volumes.contains(domain + "-cidata.iso"), "the seed is in the remote pool: \(volumes)")
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(domain), "and nothing in this one")
    let xml = try ns.virsh(["dumpxml", domain]).stdout
    let nvram = try #require(
      xml.components(separatedBy: "<nvram").dropFirst().first?.components(separatedBy: ">").dropFirst().first?
        .components(separatedBy: "<").first, "\(xml)")
    #expect(try ns.run("test", "-f", nvram).status == 0, "the remote host has the NVRAM file \(nvram)")
    let facts = try caravan(
      "ssh", "-c", "test -d /sys/firmware/efi && echo efi; hostname; cloud-init status", in: project)
    #expect(facts.stdout == "efi\ndefault\nstatus: done\n", "\(facts)")

    let destroy = try caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !ns.virsh(["vol-list", "caravan"]).stdout.contains(domain))
    #expect(try ns.run("test", "-e", nvram).status != 0, "destroy removed the NVRAM file \(nvram)")
    #expect(try caravan("box", "remove", "debian/12", "--force", in: h.root).status == 0)
  }
}
