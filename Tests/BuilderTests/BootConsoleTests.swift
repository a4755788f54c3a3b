import Foundation
import Testing

@testable import Builder

/// `box verify`'s reading of a serial console when SSH does not answer, on console texts
/// of the kinds a Debian guest prints.
struct BootConsoleTests {
  static let kernel = """
    SeaBIOS (version 1.16.2-debian-1.16.2-1)
    Booting from Hard Disk...
    [    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)
    [    0.000000] Command line: root=UUID=1 ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet

    """
  static let login = "\r\nDebian GNU/Linux 12 box ttyS0\r\n\r\nbox login: "

  @Test func nothingFromTheKernelIsNoBoot() {
    #expect(BootConsole.classify("") == .noBoot)
    #expect(
      BootConsole.classify("SeaBIOS (version 1.16.2)\nBooting from Hard Disk...\nBoot failed: not a bootable disk\n")
        == .noBoot)
    #expect(BootConsole.describe(.noBoot).hasPrefix("no boot"))
  }

  @Test func aLoginPromptWithoutAnAddressIsTheNetwork() {
    let text = Self.kernel + "[  OK  ] Reached target multi-user.target\n" + Self.login
    #expect(BootConsole.classify(text) == .loginNoAddress)
    #expect(BootConsole.describe(.loginNoAddress).hasPrefix("a login prompt but no address"))
    let leased = Self.kernel + "DHCPACK of 10.0.2.15 from 10.0.2.2\nbound to 10.0.2.15 -- renewal in 40000 seconds.\n"
    #expect(BootConsole.classify(leased + Self.login) == .loginWithAddress)
  }

  @Test func aFailedSSHServiceIsSshdFailing() {
    let text = Self.kernel + "[FAILED] Failed to start ssh.service - OpenBSD Secure Shell server.\n" + Self.login
    #expect(BootConsole.classify(text) == .sshdFailing)
    #expect(BootConsole.describe(.sshdFailing).hasPrefix("sshd failing"))
  }

  @Test func stoppedBootsAreNamed() {
    #expect(
      BootConsole.classify(Self.kernel + "[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
        == .kernelPanic)
    #expect(
      BootConsole.classify(Self.kernel + "You are in emergency mode. After logging in, type \"journalctl -xb\"\n")
        == .emergencyMode)
    #expect(BootConsole.classify(Self.kernel + "[    3.0] systemd[1]: Started udev\n") == .bootUnfinished)
  }

  @Test func theReportEndsWithTheLastLinesWithoutEscapes() throws {
    let path = NSTemporaryDirectory() + "console-\(getpid()).log"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let lines = (1...30).map { "line \($0)" }.joined(separator: "\r\n")
    try (Self.kernel + "\u{1B}[0;32m  OK  \u{1B}[0m\r\n" + lines + Self.login).write(
      toFile: path, atomically: true, encoding: .utf8)
    let report = BootConsole.report(logPath: path)
    #expect(report.hasPrefix("The console shows a login prompt but no address"), "\(report)")
    #expect(report.hasSuffix("  line 30\n  Debian GNU/Linux 12 box ttyS0\n  box login: "), "\(report)")
    #expect(!report.contains("line 17\n") && report.contains("line 18\n"))
    #expect(!report.contains("\u{1B}") && !report.contains("\r"))
    #expect(BootConsole.report(logPath: path + ".missing").contains("cannot be read"))
  }
}
