// What a guest's serial console says about why SSH did not answer, for `box verify`:
// no boot at all, a boot that stopped, sshd failing, or a login prompt but no address.

import Foundation
import Support

enum BootConsole {
  enum Finding: Equatable {
    /// Nothing from the kernel: the boot loader, the kernel, or its console=ttyS0 argument.
    case noBoot
    case kernelPanic
    case emergencyMode
    /// The kernel started; no login prompt yet.
    case bootUnfinished
    case sshdFailing
    /// A login prompt, and nothing on the console says the NIC got an address.
    case loginNoAddress
    /// A login prompt and an address, yet SSH did not answer.
    case loginWithAddress
  }

  /// With `quiet` on the kernel command line a good boot prints little more than the
  /// firmware's lines and the login prompt, so the prompt is looked for before the kernel.
  static func classify(_ console: String) -> Finding {
    let text = console.lowercased()
    if text.contains("kernel panic") { return .kernelPanic }
    if text.contains("emergency mode") { return .emergencyMode }
    let sshd = [
      "failed to start ssh", "failed to start openbsd secure shell", "ssh.service: failed", "sshd.service: failed",
    ]
    if sshd.contains(where: text.contains) { return .sshdFailing }
    if text.contains(" login:") {
      let address = ["dhcpack", "bound to ", "dhcpv4 address", "10.0.2.15"]
      return address.contains(where: text.contains) ? .loginWithAddress : .loginNoAddress
    }
    let booted = ["linux version", "run /init", "systemd[1]", "welcome to", "[    ", "[  ok  ]", "[failed]"]
    return booted.contains(where: text.contains) ? .bootUnfinished : .noBoot
  }

  static func describe(_ finding: Finding) -> String {
    switch finding {
    case .noBoot:
      return "no boot: nothing from the kernel or systemd on the serial console (check the boot loader, the kernel "
        + "and console=ttyS0 on its command line, or give a slow boot more time with --boot-timeout)"
    case .kernelPanic: return "the kernel panicked (often: the initramfs cannot find the root file system)"
    case .emergencyMode: return "the boot stopped in emergency mode (often: /etc/fstab names a disk that is not there)"
    case .bootUnfinished: return "the kernel started but the boot did not reach a login prompt (yet)"
    case .sshdFailing: return "sshd failing: ssh.service did not start (run `sshd -t` in the image to see why)"
    case .loginNoAddress:
      return "a login prompt but no address: the guest booted, and nothing configured DHCP on its first NIC"
    case .loginWithAddress:
      return "a login prompt and an address, but SSH did not answer: is sshd installed, enabled and on port 22?"
    }
  }

  /// The last `count` lines that hold text, without terminal escape sequences and carriage returns.
  static func lastLines(_ console: String, count: Int = 15) -> OutputTail {
    let plain = console.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
      .replacingOccurrences(of: "\r", with: "")
    let lines = plain.split(separator: "\n").map(String.init).filter {
      !$0.trimmingCharacters(in: .whitespaces).isEmpty
    }
    return OutputTail(count, of: lines)
  }

  /// "The console shows …" and its last lines, or a note that there is no console log.
  static func report(logPath: String) -> String {
    guard let data = FileManager.default.contents(atPath: logPath) else {
      return "The serial console log \(logPath) cannot be read."
    }
    let text = String(decoding: data, as: UTF8.self)
    let finding = classify(text)
    let quoted = lastLines(text).quoted()
    return "The console shows \(describe(finding))."
      + (quoted.isEmpty ? "" : "\n" + quoted.joined(separator: "\n"))
  }
}
