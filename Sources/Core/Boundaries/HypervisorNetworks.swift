import Boxes
import Foundation
import Spec
import Support

/// Private networks (`network private`) and host bridges (`network public`).
public protocol HypervisorNetworks: AnyObject, Sendable {
  /// The connection's networks (with their users), and the host's routes and
  /// bridges when the libvirt host is this machine.
  func networkInventory() throws -> NetworkInventory
  /// Defines and starts `network` when it is missing, starts it when it is
  /// defined but stopped; returns true when it defined it.
  func ensureNetwork(_ network: PrivateNetwork) throws -> Bool
  /// Stops and undefines the network; no error when it is already gone.
  func removeNetwork(named name: String) throws
}
