// What the validator hands to lowering: every accepted setting, already type-checked,
// as a small function that applies it to a machine. Strings are still templates; the
// `Expansion` given to `apply` expands them for one machine copy.

import Spec
import Support

/// One accepted setting, ready to be applied to a machine.
struct CheckedSetting {
  /// `memory`, `ssh.forward_agent`, `sync`, … (the name recorded in `settingsUsed`).
  var name: String
  var location: SourceLocation
  var apply: (inout MachineSpec, Expansion) -> Void
}

struct CheckedProvisioner {
  var location: SourceLocation
  /// `shell`, `file` or `ansible`: the default name is `<type>-<n>`.
  var type: String
  var explicitName: StringLiteral?
  /// Builds the provisioner; its name is filled in by lowering.
  var make: (Expansion) -> ProvisionerSpec
}

/// The settings of one scope: the top level (defaults) or one machine block.
struct CheckedScope {
  /// Single-valued settings by name; a machine's replace the top level's.
  var single: [String: CheckedSetting] = [:]
  /// Where each single-valued setting was first written (also for invalid ones), to report duplicates.
  var firstSeen: [String: SourceLocation] = [:]
  /// Multi-valued settings (`volume`, `forward`, `network`, `sync`, `trigger`) in file order.
  var multi: [CheckedSetting] = []
  var provisioners: [CheckedProvisioner] = []
  /// `ssh { user … }` as written, when it is known without a machine copy.
  var sshUser: String?
  /// `sync` destinations, checked against the machine's login user once the file is read.
  var syncDestinations: [SyncDestination] = []
}

/// A `sync` destination (expanded) and where it is written.
struct SyncDestination {
  var path: String
  var location: SourceLocation
  var length: Int
}

struct MachineCopy: Equatable {
  var name: String
  /// `${index}`: counts from `first:` (1 by default).
  var index: Int
  /// 0-based place among the instances of a `count:` machine (0 otherwise): the offset of its `ip:`.
  var position: Int = 0
}

struct CheckedMachine {
  var name: String
  var location: SourceLocation
  var nameLocation: SourceLocation
  var nameLength: Int
  var primary: Bool = false
  var primaryLocation: SourceLocation?
  var autostart: Bool = true
  var count: Int?
  /// `first:`: the index of the first instance.
  var first = 1
  var copies: [MachineCopy]
  var settings = CheckedScope()
}

struct CheckedFile {
  var version: Int = 1
  var defaults = CheckedScope()
  /// Machines in file order; one `default` machine when the file has no `machine` block.
  var machines: [CheckedMachine] = []
}
