import ArgumentParser
import Foundation
import Machinefile
import Support

public struct CaravanCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "caravan",
    abstract: "Local virtual machines on libvirt/QEMU, described by a Machinefile.",
    discussion: """
      Caravan reads the Machinefile in this folder (or the nearest parent; CARAVAN_MACHINEFILE names another) \
      and runs its machines through libvirt. libvirt is asked, not a cache, whether a machine exists and runs.
      Environment: CARAVAN_HOME (boxes and keys), CARAVAN_LIBVIRT_URI (connection), CARAVAN_NAT_RESTRICT=1 \
      (guests get no outbound network, only their forwarded ports).
      """,
    version: caravanVersion,
    subcommands: [
      UpCommand.self, StatusCommand.self, SSHCommand.self, ProvisionCommand.self, HaltCommand.self,
      DestroyCommand.self, SuspendCommand.self, ResumeCommand.self, ReloadCommand.self, RsyncCommand.self,
      RsyncAutoCommand.self, SnapshotCommand.self,
      PortCommand.self, SSHConfigCommand.self, GlobalStatusCommand.self, BoxCommand.self, BuildCommand.self,
      ValidateCommand.self, LockCommand.self, PackageCommand.self,
      InitCommand.self, DoctorCommand.self, ExitCodesCommand.self,
    ])

  public init() {}

  /// Runs the command line; Caravan's own errors are printed with their fix and
  /// exit 1; an invalid Machinefile exits 65. Ctrl-C and SIGTERM stop the command at
  /// its next safe point (`Interrupt`): it says what was left and exits 130.
  public static func main() {
    Interrupt.installHandlers()
    do {
      var command = try parseAsRoot()
      try command.run()
      // Stopped after its last safe point: the work is done, but the caller asked to stop.
      if Interrupt.process.requested { interrupted(Interrupt.stopped("interrupted after the command had finished")) }
    } catch let error as CaravanError where error.kind == .interrupted {
      interrupted(error)
    } catch let error as CaravanError {
      if Interrupt.process.requested { interrupted(error) }
      printError("error: \(error.description)")
      Foundation.exit(1)
    } catch let error as MachinefileError {
      printError(error.description)
      Foundation.exit(65)
    } catch {
      if Interrupt.process.requested { interrupted(error) }
      exit(withError: error)
    }
  }

  /// What an interrupted command says (what it left, and how to go on), and its exit.
  static func interrupted(_ error: Error) -> Never {
    if let error = error as? CaravanError, error.kind == .interrupted {
      printError(error.description)
    } else {
      printError("interrupted; what failed as it stopped: \(error)")
    }
    Foundation.exit(Interrupt.exitStatus)
  }
}
