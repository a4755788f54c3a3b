// A project of one machine in a temporary folder, with no Machinefile: how `box warm`
// and `box verify` boot a box, on the same engine a project's commands use.

import Boxes
import Core
import Foundation
import Provisioning
import SSH
import Spec
import Support

public struct ThrowawayProject {
  /// The temporary folder; the caller may keep more than the project in it (a scratch
  /// box store, keys). `remove()` deletes it.
  public let folder: String

  /// Makes the temporary folder, named `prefix` and a random suffix under TMPDIR.
  public init(prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    folder = try FileSystem.makeTemporaryDirectory(prefix: prefix, environment: environment)
  }

  /// The project of `machine` alone, in `subfolder` of the folder (the folder itself when
  /// nil), and its engine wired as a project command's: OpenSSH with keys in `keyDirectory`,
  /// the guest provisioner, the box store `boxes`.
  public func lifecycle(
    for machine: MachineSpec, in subfolder: String? = nil, hypervisor: Hypervisor, boxes: BoxStore,
    keyDirectory: String, reporter: Reporter, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> (project: Project, lifecycle: Lifecycle) {
    let root = subfolder.map { folder + "/" + $0 } ?? folder
    let project = Project(root: root, machinefilePath: root + "/Machinefile", spec: ProjectSpec(machines: [machine]))
    if subfolder != nil { try FileSystem.makeDirectory(root) }
    let lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor, communicators: OpenSSHFactory(keyDirectory: keyDirectory),
      provisioners: GuestProvisioner(), boxes: boxes, reporter: reporter, environment: environment)
    return (project, lifecycle)
  }

  /// Deletes the folder and everything in it; the machine is the caller's to destroy first.
  public func remove() { try? FileSystem.removeTree(folder) }
}
