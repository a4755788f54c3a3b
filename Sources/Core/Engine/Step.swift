/// One step of a machine's lifecycle, as `Lifecycle.track` runs it. Its name is
/// what the events file (`--events`), fault injection
/// (`CARAVAN_FAULT_INJECT=STEP:start|end`) and an interrupt's "stopped during
/// its 'STEP' step" all say.
public enum Step: String, Sendable, CaseIterable, CustomStringConvertible {
  // A whole command on one machine.
  case up, halt, destroy, reload, suspend, resume, snapshot
  // The steps of `up`, in order.
  case importBox = "import_box"
  case networks, define, start
  case defineWarm = "define_warm"
  case restore
  case waitSSH = "wait_ssh"
  case cloudInit = "cloud_init"
  case refreshIdentity = "refresh_identity"
  case replaceKey = "replace_key"
  case hostname
  case growDisk = "grow_disk"
  case configureNetworks = "configure_networks"
  case sync, provision
  /// A provisioner's run is on the guest's disk and in the record (a fault point only).
  case provisioned
  case trigger
  // Stopping and removing.
  case powerOff = "power_off"
  case removeNetworks = "remove_networks"
  // Making a box's warm state.
  case warmTemplate = "warm_template"
  case saveWarmState = "save_warm_state"
  // `caravan package`: the whole, then booting the copy, cleaning it, writing the box.
  case package
  case packageCopy = "package_copy"
  case packageClean = "package_clean"
  case packageWrite = "package_write"

  public var description: String { rawValue }
}
