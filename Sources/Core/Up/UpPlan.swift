import Spec
import Support

/// What `up` decides once for each machine, before anything is made, and hands
/// to every step that needs it: the machine's extra NICs (its network layout)
/// and the accelerator the hypervisor chose for it.
struct UpPlan: Sendable {
  let machine: MachineSpec
  let interfaces: [MachineInterface]
  /// The hypervisor's choice, asked once; its error is thrown where the machine
  /// is defined, so it does not stop the `up` of a machine that already runs.
  let accelerator: Result<AcceleratorChoice, any Error>
  /// `Machinefile.lock` for this `up` (shared by its machines).
  var lock: BoxLocker?
}

extension Lifecycle {
  func upPlan(_ machine: MachineSpec) throws -> UpPlan {
    UpPlan(
      machine: machine, interfaces: try NetworkLayout.interfaces(of: machine, project: project),
      accelerator: Result { try hypervisor.chooseAccelerator(machine.libvirt.accel) })
  }
}
