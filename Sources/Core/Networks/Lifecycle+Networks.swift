import Foundation
import Host
import Spec
import Support

extension Lifecycle {
  /// Private networks are made, checked and removed under one lock for all of
  /// this user's caravan processes, so two `up`s never both take a free subnet.
  func networkLock(for machine: String) throws -> FileLock {
    try FileLock(
      path: CaravanPaths.runtime(environment: environment) + "/networks.lock",
      waitNotice: { path in
        self.reporter.step(machine, "another caravan process is changing networks; waiting for it (lock: \(path))")
      })
  }

  /// Makes (or starts) the private networks of the machine's interfaces and
  /// checks its public bridges exist. A subnet that something else on the
  /// libvirt host uses (another project's network, any libvirt network, a host
  /// route) is refused, naming it.
  func prepareNetworks(_ machine: MachineSpec, interfaces: [MachineInterface]) throws {
    guard !interfaces.isEmpty else { return }
    try refuseSessionNetworks(machine, interfaces: interfaces)
    let lock = try networkLock(for: machine.name)
    defer { lock.unlock() }
    let inventory = try networks.networkInventory()
    try checkNetworks(machine, interfaces: interfaces, against: inventory)
    var done = Set<String>()
    for case .privateNetwork(let network, _, _) in interfaces.map(\.kind) where done.insert(network.name).inserted {
      if try networks.ensureNetwork(network) {
        reporter.step(
          machine.name,
          "made private network '\(network.name)' (\(network.subnetsText), isolated, host \(network.hostText))")
      }
    }
  }

  /// Before any machine of an `up` is made: each one's bridges and subnets are
  /// checked against the libvirt host, so a refused subnet stops the whole
  /// command by name instead of failing one machine among several.
  func checkNetworks(of plans: [UpPlan]) throws {
    let layouts = plans.map { ($0.machine, $0.interfaces) }
    guard layouts.contains(where: { !$0.1.isEmpty }) else { return }
    for (machine, interfaces) in layouts { try refuseSessionNetworks(machine, interfaces: interfaces) }
    let inventory = try networks.networkInventory()
    for (machine, interfaces) in layouts { try checkNetworks(machine, interfaces: interfaces, against: inventory) }
  }

  /// A private network is a libvirt network, on one host: machines of the project on
  /// different libvirt hosts (a machine's own `libvirt { uri }`) cannot share one. Checked
  /// over the whole project before anything is made, naming both machines and hosts.
  func refuseNetworksAcrossHosts() throws {
    var first: [String: (machine: String, uri: String)] = [:]
    for machine in project.spec.machines {
      let uri = machine.libvirtURI(environment: environment)
      for interface in try NetworkLayout.interfaces(of: machine, project: project) {
        guard case .privateNetwork(let network, _, _) = interface.kind else { continue }
        guard let other = first[network.name] else {
          first[network.name] = (machine.name, uri)
          continue
        }
        guard other.uri != uri else { continue }
        throw CaravanError(
          .invalidInput,
          "machines '\(other.machine)' (on \(other.uri)) and '\(machine.name)' (on \(uri)) share the private network of `\(interface.written)`, but a libvirt network does not span hosts",
          hint:
            "Put the machines that share a private network on one libvirt host (the same `libvirt { uri }`), or give each host's machines a subnet of their own; machines on different hosts reach each other through forwarded ports."
        )
      }
    }
  }

  /// A private network is a libvirt network (a bridge, dnsmasq), which only the
  /// system daemon can make: on a session connection it is refused by name before
  /// anything of the `up` is made.
  func refuseSessionNetworks(_ machine: MachineSpec, interfaces: [MachineInterface]) throws {
    guard LibvirtFolders.isSession(hypervisor.uri) else { return }
    for interface in interfaces {
      guard case .privateNetwork = interface.kind else { continue }
      throw CaravanError(
        .invalidInput,
        "machine '\(machine.name)': `\(interface.written)` needs a libvirt network, which \(hypervisor.uri) cannot create without root",
        hint:
          "Use qemu:///system (`libvirt { uri \"qemu:///system\" }` or CARAVAN_LIBVIRT_URI=qemu:///system, as root or as a member of group libvirt), or drop the `network` line: every machine is still reached on 127.0.0.1 through its forwards."
      )
    }
  }

  /// Throws if a public bridge of `interfaces` is missing on the libvirt host,
  /// or a private network's subnet is used by anything there but this
  /// project's own network of that name.
  func checkNetworks(_ machine: MachineSpec, interfaces: [MachineInterface], against inventory: NetworkInventory)
    throws
  {
    for interface in interfaces {
      switch interface.kind {
      case .publicBridge(let bridge):
        guard let bridges = inventory.bridges, !bridges.contains(bridge) else { continue }
        throw CaravanError(
          .notFound,
          "machine '\(machine.name)': the libvirt host has no bridge '\(bridge)' for `\(interface.written)`",
          hint:
            "Bridges there: \(bridges.isEmpty ? "none" : bridges.sorted().joined(separator: ", ")). Name one of them, or make the bridge first (your distribution's network configuration, or `ip link add \(bridge) type bridge`)."
        )
      case .privateNetwork(let network, _, _):
        if let existing = inventory.networks.first(where: { $0.name == network.name }),
          existing.projectRoot != project.root
        {
          throw CaravanError(
            .conflict,
            "machine '\(machine.name)': libvirt already has a network '\(network.name)' that Caravan did not make for this project",
            hint:
              "Remove it (`virsh -c \(hypervisor.uri) net-destroy \(network.name); virsh -c \(hypervisor.uri) net-undefine \(network.name)`) or pick another subnet."
          )
        }
        if let user = NetworkLayout.collision(of: network, in: inventory) {
          throw CaravanError(
            .conflict,
            "machine '\(machine.name)': subnet \(network.subnetsText) of `\(interface.written)` is used by \(user)",
            hint:
              "Pick an address in another subnet for this machine (and its neighbours on the network), or free that subnet first (a Caravan project frees it with `caravan destroy` in its folder)."
          )
        }
      }
    }
  }

  /// Removes this project's networks that no domain uses any more (after a
  /// `destroy`, or a first `up` that failed); says which, as `machine`'s steps.
  func removeUnusedNetworks(reportingAs machine: String) throws {
    // A hypervisor that makes no networks has none to remove.
    guard let networks = hypervisor as? any HypervisorNetworks else { return }
    let lock = try networkLock(for: machine)
    defer { lock.unlock() }
    for network in try networks.networkInventory().networks
    where network.projectRoot == project.root && network.users.isEmpty {
      try networks.removeNetwork(named: network.name)
      reporter.step(machine, "removed network '\(network.name)' (no machine uses it any more)")
    }
  }

  /// Writes the configuration of the machine's extra NICs in the guest (for the
  /// network manager it has) and brings them up, with a deadline; keeps the
  /// addresses DHCP gave on private networks in the record, for `/etc/hosts`.
  func configureGuestNetworks(
    _ machine: MachineSpec, interfaces: [MachineInterface], communicator: Communicator, record: inout MachineRecord
  ) throws {
    guard !interfaces.isEmpty else { return }
    let name = machine.name
    reporter.step(
      name,
      "configuring \(interfaces.count == 1 ? "its network interface" : "\(interfaces.count) network interfaces") in the guest"
    )
    let (status, output, errors) = try runAsRoot(
      GuestNetworkScript.configure(interfaces.map(\.guest)), on: communicator)
    guard status == 0 else {
      let said = OutputTail(3, of: errors).joined(separator: "; ")
      throw CaravanError(
        .guest,
        "machine '\(name)': configuring its network interfaces failed (exit status \(status))\(said.isEmpty ? "" : ": \(said)")",
        hint:
          "Caravan configures them over SSH with systemd-networkd, NetworkManager or ifupdown, whichever the guest has; look with `caravan ssh\(argument(for: machine))` (`ip addr`)."
      )
    }
    let found = GuestNetworkScript.addresses(in: output)
    var dhcp: [String: String] = [:]
    for interface in interfaces {
      let got = found[interface.mac]
      let address = got?.address
      reporter.step(
        name,
        "\(interface.written): \(got?.interface ?? "?") \(address ?? (interface.guest.waitForAddress ? "has no DHCP address yet" : "asks DHCP"))"
      )
      guard interface.privateNetwork != nil, interface.guest.mode == .dhcp else { continue }
      if let address {
        dhcp[interface.mac] = address.split(separator: "/").first.map(String.init) ?? address
      } else {
        reporter.warning(
          "machine '\(name)': no DHCP address on \(got?.interface ?? "its NIC") within \(GuestNetworkScript.deadlineSeconds) s; the other machines' /etc/hosts will not name it until the next `caravan up`"
        )
      }
    }
    let kept = dhcp.isEmpty ? nil : dhcp
    if record.dhcpAddresses != kept {
      record.dhcpAddresses = kept
      try project.saveRecord(record, for: name)
    }
  }

  /// Runs `script` as root in the guest (`sudo -n sh -s`, the script on its
  /// standard input): the exit status, all output, and the standard error lines.
  func runAsRoot(_ script: String, on communicator: Communicator) throws -> (
    status: Int32, output: String, errors: [String]
  ) {
    var output = ""
    var errors: [String] = []
    let status = try communicator.execute("sudo -n sh -s", input: Data(script.utf8)) { stream, line in
      output += line + "\n"
      if stream == .stderr { errors.append(line) }
    }
    return (status, output, errors)
  }

  /// The names a machine answers to in the others' `/etc/hosts`: its hostname,
  /// that name's first label, and the machine's name.
  static func hostNames(_ machine: MachineSpec) -> [String] {
    var names: [String] = []
    if let hostname = machine.hostname {
      names.append(hostname)
      if let short = hostname.split(separator: ".").first { names.append(String(short)) }
    }
    names.append(machine.name)
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }

  /// Every machine of the project on a private network that runs gets a block
  /// in `/etc/hosts` naming each such machine's addresses there. A machine of
  /// `machines` (the command's) that cannot be reached fails the command; another is warned about.
  func updateHosts(after machines: [MachineSpec]) throws {
    let layout = try NetworkLayout.check(project)
    var entries: [(address: String, names: [String])] = []
    var members: [MachineSpec] = []
    for machine in project.spec.machines {
      let privates = (layout[machine.name] ?? []).filter { $0.privateNetwork != nil }
      guard !privates.isEmpty else { continue }
      members.append(machine)
      let dhcp = (try? project.loadRecord(machine.name))?.dhcpAddresses ?? [:]
      for interface in privates {
        if case .privateNetwork(_, let address?, _) = interface.kind {
          entries.append((address.description, Lifecycle.hostNames(machine)))
        } else if let address = dhcp[interface.mac] {
          entries.append((address, Lifecycle.hostNames(machine)))
        }
      }
    }
    guard !entries.isEmpty else { return }
    let script = GuestNetworkScript.hosts(entries)
    let named = Set(machines.map(\.name))
    for machine in members {
      let domain = project.domainName(for: machine.name)
      guard try hypervisor.status(domain: domain) == .running, let record = try project.loadRecord(machine.name) else {
        continue
      }
      do {
        let communicator = communicators.communicator(for: try endpoint(for: machine, record: record, shared: true))
        let (status, _, errors) = try runAsRoot(script, on: communicator)
        guard status == 0 else {
          throw CaravanError(
            .guest,
            "machine '\(machine.name)': writing the project's machines into /etc/hosts failed (exit status \(status)): \(OutputTail(2, of: errors).joined(separator: "; "))",
            hint: "Look with `caravan ssh\(argument(for: machine))`; the next `caravan up` writes them again.")
        }
      } catch  where !named.contains(machine.name) {
        reporter.warning("machine '\(machine.name)': its /etc/hosts could not be updated: \(error)")
        continue
      }
      reporter.step(
        machine.name,
        "/etc/hosts names the project's machines (\(entries.count) address\(entries.count == 1 ? "" : "es"))")
    }
  }
}
