import Core
import Foundation
import Support
import Testing

/// `caravan package`'s cleaning, run as root in the copy of the machine.
struct PackageCleanScriptTests {
  @Test func theScriptForgetsTheMachinesIdentityAndAuthorizesTheInsecureKey() throws {
    let script = Lifecycle.packageCleanScript(
      user: "o'brien", authorizedKeys: "ssh-ed25519 AAAAinsecure vagrant insecure public key")
    #expect(script.contains(": > /etc/machine-id"), "an empty machine-id: systemd makes a new one")
    #expect(script.contains("rm -f /var/lib/systemd/random-seed /etc/ssh/ssh_host_*"))
    #expect(script.contains("cloud-init clean --logs"))
    #expect(script.contains("ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key"), "host keys made before sshd")
    #expect(script.contains("getent passwd 'o'\\''brien'"), "a quote in the user cannot end the shell word")
    #expect(
      script.contains(
        "printf '%s\\n' 'ssh-ed25519 AAAAinsecure vagrant insecure public key' > \"$home/.ssh/authorized_keys\""))
    let lines = script.split(separator: "\n")
    #expect(lines.dropLast().last == "sync", "what it changed is on the disk before the copy powers off")
    #expect(lines.last?.contains("poweroff") == true, "the copy powers itself off, its SSH host keys gone")
    let check = try Subprocess(["sh", "-n", "-c", script]).run()
    #expect(check.status == 0, "sh -n: \(check.stderr)")
  }

  @Test func keepKeyLeavesTheAuthorizedKeysAlone() throws {
    let script = Lifecycle.packageCleanScript(user: "vagrant", authorizedKeys: nil)
    #expect(!script.contains("authorized_keys"))
    #expect(script.contains(": > /etc/machine-id"))
    let check = try Subprocess(["sh", "-n", "-c", script]).run()
    #expect(check.status == 0, "sh -n: \(check.stderr)")
  }
}
