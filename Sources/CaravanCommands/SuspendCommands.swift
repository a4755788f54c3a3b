import ArgumentParser
import Core
import Foundation

struct SuspendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "suspend",
    abstract: "Save running machines' memory to disk and stop them; `resume` or `up` continues them.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "suspend") { try $0.suspend($1) }
  }
}

struct ResumeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume",
    abstract: "Continue suspended or paused machines where they were, and wait for SSH.")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "resume") { try $0.resume($1) }
  }
}

struct ReloadCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reload",
    abstract: "Halt machines and bring them up again on the same ports (provisioners only with --provision).")

  @Argument(help: "Machines (default: all).") var machines: [String] = []
  @Flag(help: "Run every provisioner after the boot.") var provision = false
  @OptionGroup var lockOptions: LockOptions

  func run() throws {
    try Context().changing(machines, lock: lockOptions, command: "reload") { try $0.reload($1, provision: provision) }
  }
}
