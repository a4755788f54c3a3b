import Foundation
import Testing

/// Provisioners and triggers on one real QEMU guest (TCG): shell with hostile arguments and
/// environment, file and folder uploads with modes, ordering of top-level and machine
/// provisioners, run modes, `--provision-with` by name and type, a failing provisioner,
/// triggers on the host and in the guest with `on_error`, a script body that reaches the guest
/// byte for byte (`${HOME}`, `$$`, `$(…)`, a trailing `\`), and nothing left after destroy.
@Suite(
  .guestSlot(minutes: 3), .serialized,
  .enabled(if: Harness.enabled, "needs CARAVAN_BIN and CARAVAN_E2E_BOX (run `make test`)"))
struct ProvisionersEndToEnd {
  /// Arguments that a shell would read as code; each must arrive as one exact word.
  static let hostile = ["a b", "$(touch /tmp/pwned)", "; rm -rf /", "new\nline", "*", "ünï", "`id`"]
  /// A script body as the guest must receive it: no interpolation, no escapes, `\` the shell's.
  static let verbatim = """
    cp "$0" /tmp/verbatim-script
    printf '%s|%s\\n' "home=${HOME} pid=$$ user=$(id -un) default=${UNSET_VAR:-none} \\n" \\
      continued
    """

  @Test func provisionersTriggersAndRunModesOnOneGuest() throws {
    let h = try Harness(name: "provisioners", warm: true)
    defer { h.cleanUp() }
    let project = h.root + "/proj"
    try h.write("listen 80\n", to: "proj/files/app.conf")
    try h.write("#!/bin/sh\necho run\n", to: "proj/tree/sub dir/run")
    try h.write("a b\n", to: "proj/tree/a b")
    chmod(project + "/files/app.conf", 0o640)
    chmod(project + "/tree/sub dir/run", 0o751)
    // The language's strings: `\n` and `\"` are escapes, `$$` a literal `$`.
    let args = Self.hostile.map { "\"" + $0.replacingOccurrences(of: "\n", with: "\\n") + "\"" }
    try h.write(
      """
      version 1
      box "caravan/debian-12"
      memory 768MiB
      machine "web" {
        hostname "prov"
        provision shell, name: "hostile", args: [\(args.joined(separator: ", "))], inline: \"""
          for a in "$@"; do printf '[%s]\\n' "$a"; done
          echo machine >> /tmp/order
          \"""
        provision shell, name: "env", privileged: false, env: {V: "x y $$HOME `id` ;*"}, inline: \"""
          printf 'env=[%s] user=%s\\n' "$V" "$(id -un)"
          \"""
        provision shell, name: "verbatim", privileged: false, inline: \"""
      \(Self.verbatim.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
          \"""
        provision file, name: "conf", source: "files/app.conf", destination: "/etc/caravan test/app.conf"
        provision file, name: "tree", source: "tree", destination: "~/my tree"
        provision shell, name: "every", run: always, inline: "echo every-boot"
        provision shell, name: "later", run: never, inline: "echo named-only"
        provision shell, name: "breaks", run: never, inline: "echo last words; exit 7"
        trigger before: up, run: "echo host-before $CARAVAN_MACHINE > trigger-before.txt"
        trigger after: up, run_remote: "echo remote-after > /tmp/trigger-after"
        trigger after: provision, run: "echo failing; exit 4", on_error: continue
        trigger after: ssh, run: "echo $CARAVAN_MACHINE >> after-ssh.txt"
        trigger before: status, run: "echo before-status"
      }
      provision shell, name: "top", inline: "echo top >> /tmp/order"
      """, to: "proj/Machinefile")
    #expect(try h.addTestBox().status == 0)
    defer { h.removeTestBox() }
    let hostPwned = FileManager.default.fileExists(atPath: "/tmp/pwned")

    let up = try h.up(in: project)
    defer { _ = try? h.caravan("destroy", "-f", in: project) }
    try #require(up.status == 0, "\(up)")
    let domain = try #require(
      try h.caravan("status", in: project).stdout.split(separator: "(").last.map { String($0.prefix { $0 != ")" }) })
    func guest(_ command: String) throws -> String {
      let out = try h.caravan("ssh", "-c", command, in: project)
      #expect(out.status == 0, "\(command): \(out)")
      return out.stdout
    }

    // Hostile arguments arrive byte for byte, streamed with the machine's prefix, no colour in a log.
    for word in Self.hostile {
      for line in ("[" + word + "]").split(separator: "\n", omittingEmptySubsequences: false) {
        #expect(up.stdout.contains("    web: \(line)\n"), "\(line): \(up.stdout)")
      }
    }
    #expect(!up.stdout.contains("\u{1B}["), "no escape codes when output is not a terminal")
    #expect(up.stdout.contains("    web: env=[x y $HOME `id` ;*] user=vagrant"), "\(up)")
    #expect(up.stdout.contains("web: every-boot") && !up.stdout.contains("named-only"), "\(up)")
    // The script body arrived as written, and the guest's shell read its `${…}`, `$$` and `\`.
    #expect(try guest("cat /tmp/verbatim-script") == Self.verbatim, "\(up)")
    #expect(
      up.stdout.range(
        of: #"web: home=/home/vagrant pid=[0-9]+ user=vagrant default=none \\n\|continued\n"#,
        options: .regularExpression)
        != nil, "\(up)")
    // Top-level provisioners first, then the machine's, whatever their place in the file.
    #expect(try guest("cat /tmp/order").split(separator: "\n") == ["top", "machine"])
    #expect(try guest("test -e /tmp/pwned && echo pwned || echo clean").contains("clean"))
    #expect(FileManager.default.fileExists(atPath: "/tmp/pwned") == hostPwned)
    #expect(!FileManager.default.fileExists(atPath: project + "/pwned"))

    // Files: modes kept; /etc written with sudo (root's), the home folder as the login user.
    let stat = try guest(
      "stat -c '%a %U %n' '/etc/caravan test/app.conf' ~/'my tree/sub dir/run' ~/'my tree/a b'; sudo cat '/etc/caravan test/app.conf'"
    )
    #expect(stat.contains("640 root /etc/caravan test/app.conf"), "\(stat)")
    #expect(stat.contains("751 vagrant /home/vagrant/my tree/sub dir/run"), "\(stat)")
    #expect(stat.contains("vagrant /home/vagrant/my tree/a b") && stat.contains("listen 80"), "\(stat)")

    // Triggers: before up on the host (in the project folder), after up in the guest.
    let before = try String(contentsOfFile: project + "/trigger-before.txt", encoding: .utf8)
    #expect(before == "host-before web\n")
    #expect(try guest("cat /tmp/trigger-after").contains("remote-after"))
    #expect(up.stdout.contains("==> web: running trigger before up (Machinefile:"), "\(up)")

    // `caravan ssh` with an after trigger: ssh runs as a child, its status is kept, then the trigger.
    let ssh = try h.caravan("ssh", "-c", "echo in-guest; exit 3", in: project)
    #expect(ssh.status == 3 && ssh.stdout.contains("in-guest"), "\(ssh)")
    let afterSSH = try String(contentsOfFile: project + "/after-ssh.txt", encoding: .utf8)
    #expect(afterSSH.hasSuffix("web\n"), "\(afterSSH)")
    let status = try h.caravan("status", in: project)
    #expect(status.stdout.contains("web: before-status") && status.stdout.contains("running"), "\(status)")
    let json = try h.caravan("status", "--json", in: project)
    #expect(!json.stdout.contains("before-status"), "\(json)")

    // By name: a `never` provisioner runs when named, and only it; the failing after trigger
    // has on_error: continue, so provision succeeds with a warning.
    let later = try h.caravan("provision", "--provision-with", "later", in: project)
    #expect(later.status == 0, "\(later)")
    #expect(later.stdout.contains("web: named-only") && !later.stdout.contains("every-boot"), "\(later)")
    #expect(later.stdout.contains("web: failing"), "\(later)")
    #expect(later.stderr.contains("exited with status 4") && later.stderr.contains("on_error: continue"), "\(later)")

    // By type: both file provisioners again; the folder now exists, so it goes in by name (scp -r).
    let files = try h.caravan("provision", "--provision-with", "file", in: project)
    #expect(files.status == 0 && !files.stdout.contains("named-only"), "\(files)")
    #expect(try guest("test -x ~/'my tree/tree/sub dir/run' && echo nested").contains("nested"))

    // A failing provisioner: its name, exit status and last lines; a non-zero exit.
    let breaks = try h.caravan("up", "--provision-with", "breaks", in: project)
    #expect(breaks.status != 0, "\(breaks)")
    #expect(breaks.stderr.contains("provisioner 'breaks' of machine 'web' failed with exit status 7"), "\(breaks)")
    #expect(breaks.stderr.contains("  last words"), "\(breaks)")

    // After halt and up: `once` provisioners are remembered, `always` runs again.
    #expect(try h.caravan("halt", in: project).status == 0)
    let again = try h.caravan("up", in: project)
    #expect(again.status == 0, "\(again)")
    #expect(again.stdout.contains("web: every-boot") && !again.stdout.contains("[a b]"), "\(again)")
    #expect(!again.stdout.contains("listen"), "\(again)")

    let destroy = try h.caravan("destroy", "-f", in: project)
    #expect(destroy.status == 0, "\(destroy)")
    #expect(try !Harness.virsh("list", "--all", "--name").stdout.contains(domain))
    #expect(try !Harness.virsh("vol-list", "caravan").stdout.contains(domain))
  }
}
