import Support

/// The hypervisor's optional capabilities, asked for where the engine needs them:
/// a hypervisor without one still runs every machine that does not use it, and a
/// command that needs it is refused by name.
extension Lifecycle {
  /// Saved memory (`suspend`, `resume`) and snapshots.
  var savedStates: any HypervisorSavedStates {
    get throws { try capability("save a machine's memory or take snapshots") }
  }

  /// Private networks and host bridges (`network private`, `network public`).
  var networks: any HypervisorNetworks {
    get throws { try capability("make private networks or attach host bridges") }
  }

  /// Saved running states of boxes (`up --warm`, `box warm`).
  var warmStates: any HypervisorWarmStates {
    get throws { try capability("keep warm states of boxes") }
  }

  private func capability<T>(_ what: String) throws -> T {
    if let found = hypervisor as? T { return found }
    throw CaravanError(
      .hypervisor, "the hypervisor at '\(hypervisor.uri)' cannot \(what)",
      hint: "Use libvirt (qemu:///system or qemu:///session), whose driver can.")
  }
}
