// Multi-valued settings that attach things to a machine: volume, forward, network, sync.
// A machine gets the top-level ones first, then its own.

import Spec
import Support

extension Validator {
  func append(
    _ statement: Statement, to settings: inout CheckedScope, _ apply: @escaping (inout MachineSpec, Expansion) -> Void
  ) {
    settings.multi.append(CheckedSetting(name: statement.name, location: statement.location, apply: apply))
  }

  func checkVolume(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "volume \"data\", size: 10GiB"
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example, options: ["size", "bus", "keep"], needs: "a name")
    var bytes: UInt64?
    if let option = args.options["size"], let value = typed(option.value),
      let size = size(value, "'size:' of 'volume'", example: example)
    {
      if size < 1 << 20 {
        error("'size:' of 'volume' must be at least 1MiB, got \(value.text)", at: value)
      } else {
        bytes = size
      }
    } else if args.options["size"] == nil {
      error("'volume' needs size: \(scope.description), e.g. `\(example)`", at: statement)
    }
    var bus = VolumeSpec.Bus.virtio
    if let option = args.options["bus"] {
      guard let chosen = choice(option.value, "'bus:' of 'volume'", as: VolumeSpec.Bus.self) else { return }
      bus = chosen
    }
    var keep = false
    if let option = args.options["keep"], let flag = bool(option.value, "'keep:' of 'volume'") { keep = flag }
    guard let value = args.values.first, let name = stringOrName(value, "the name of 'volume'", example: example)
    else { return }
    checkText(name, at: value, scope: scope) { text in
      ValueChecks.objectName(text).map { "volume name '\(text)' is not valid: \($0)" }
    }
    guard let bytes else { return }
    append(statement, to: &settings) { machine, expansion in
      var volume = VolumeSpec(name: expansion.expand(name), sizeBytes: bytes)
      volume.bus = bus
      volume.keep = keep
      machine.volumes.append(volume)
    }
  }

  func checkForward(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "forward 8080 -> 80"
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example,
      options: ["protocol", "host_ip", "auto_correct", "id"], needs: "HOST -> GUEST ports")
    var transport = TransportProtocol.tcp
    var hostIP: StringLiteral?
    var autoCorrect = true
    var id: StringLiteral?
    if let option = args.options["protocol"],
      let chosen = choice(option.value, "'protocol:' of 'forward'", as: TransportProtocol.self)
    {
      transport = chosen
    }
    if let option = args.options["host_ip"],
      let literal = string(option.value, "'host_ip:' of 'forward'", example: "host_ip: \"127.0.0.1\"")
    {
      hostIP = literal
      checkText(literal, at: option.value, scope: scope) { text in
        ValueChecks.ipAddress(text)
          ? nil : "'host_ip:' of 'forward' must be an IP address like \"127.0.0.1\", got \"\(text)\""
      }
    }
    if let option = args.options["auto_correct"], let flag = bool(option.value, "'auto_correct:' of 'forward'") {
      autoCorrect = flag
    }
    if let option = args.options["id"] { id = stringOrName(option.value, "'id:' of 'forward'") }
    guard let value = args.values.first,
      let (left, right) = pair(value, "'forward'", expected: "HOST -> GUEST ports", example: example)
    else { return }
    let host = integer(left, "the host port of 'forward'", in: 1...65535, example: example)
    let guest = integer(right, "the guest port of 'forward'", in: 1...65535, example: example)
    guard let host, let guest else { return }
    append(statement, to: &settings) { machine, expansion in
      var forward = PortForward(host: host, guest: guest)
      forward.transport = transport
      forward.hostIP = hostIP.map(expansion.expand) ?? "127.0.0.1"
      forward.autoCorrect = autoCorrect
      forward.id = id.map(expansion.expand)
      machine.forwards.append(forward)
    }
  }

  func checkNetwork(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "network private, ip: \"10.20.0.11\""
    let privateOptions = ["ip", "dhcp", "netmask", "prefix"]
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example, options: privateOptions + ["bridge"],
      needs: "a kind (private or public)")
    guard let value = args.values.first, let kind = choice(value, "'network'", among: ["private", "public"]) else {
      return
    }
    if kind == "public" {
      for label in privateOptions {
        if let option = args.options[label] {
          error(
            "option '\(label):' is for private networks; a public network takes bridge:, e.g. `network public, bridge: \"br0\"`",
            atLabelOf: option)
        }
      }
      var bridge: StringLiteral?
      if let option = args.options["bridge"] {
        bridge = stringOrName(option.value, "'bridge:' of 'network'", example: "bridge: \"br0\"")
      }
      append(statement, to: &settings) { machine, expansion in
        machine.networks.append(.publicNetwork(bridge: bridge.map(expansion.expand)))
      }
      return
    }
    if let option = args.options["bridge"] {
      error(
        "option 'bridge:' is for public networks; a private network takes ip:, dhcp:, netmask: and prefix:",
        atLabelOf: option)
    }
    checkPrivateNetwork(args, statement, scope: scope, into: &settings)
  }

  /// `network private`: `ip:` (IPv4 or IPv6) or `dhcp: true`, and `netmask:` (IPv4)
  /// or `prefix:` (either family).
  private func checkPrivateNetwork(
    _ args: CheckedArguments, _ statement: Statement, scope: Scope, into settings: inout CheckedScope
  ) {
    let example = "network private, ip: \"10.20.0.11\""
    var ip: StringLiteral?
    var netmask: StringLiteral?
    var prefix: Int?
    var dhcp = false
    if let option = args.options["ip"], let literal = string(option.value, "'ip:' of 'network'", example: example) {
      ip = literal
      checkText(literal, at: option.value, scope: scope) { text in
        IPAddress(text) != nil
          ? nil
          : "'ip:' of 'network' must be an IPv4 address like \"10.20.0.11\" or an IPv6 address like \"fd00:10::11\", got \"\(text)\""
      }
    }
    var dhcpReadable = true
    if let option = args.options["dhcp"] {
      if let flag = bool(option.value, "'dhcp:' of 'network'") {
        dhcp = flag
        if flag, let ipOption = args.options["ip"] {
          error(
            "'network private' takes ip: or dhcp: true, not both; remove one (ip: is at \(ipOption.labelLocation))",
            atLabelOf: option)
        }
      } else {
        dhcpReadable = false
      }
    }
    if let option = args.options["netmask"],
      let literal = string(option.value, "'netmask:' of 'network'", example: "netmask: \"255.255.255.0\"")
    {
      netmask = literal
      checkText(literal, at: option.value, scope: scope) { text in
        ValueChecks.netmask(text)
          ? nil : "'netmask:' of 'network' must be a netmask like \"255.255.255.0\", got \"\(text)\""
      }
    }
    if let option = args.options["prefix"] {
      prefix = integer(option.value, "'prefix:' of 'network'", in: 1...128, example: "prefix: 64")
      if let netmaskOption = args.options["netmask"] {
        error(
          "'network private' takes netmask: or prefix:, not both; remove one (netmask: is at \(netmaskOption.labelLocation))",
          atLabelOf: option)
      }
    }
    if args.options["ip"] == nil, !dhcp, dhcpReadable {
      error("'network private' needs ip: or dhcp: true \(scope.description), e.g. `\(example)`", at: statement)
    }
    if let ip, let option = args.options["ip"] {
      checkFamily(of: ip, netmask: args.options["netmask"], prefix: prefix, prefixOption: args.options["prefix"])
      checkAddressRange(ip, netmask: netmask, prefix: prefix, at: option.value, scope: scope)
    }
    append(statement, to: &settings) { machine, expansion in
      var address = ip.map(expansion.expand)
      // With count:, each next instance takes the next address (unless ip: numbers them itself).
      if let ip, !ip.usesMachineVariables, expansion.machinePosition > 0, let first = address {
        address = IPAddress(first)?.advanced(by: expansion.machinePosition)?.description ?? first
      }
      machine.networks.append(.privateNetwork(ip: address, netmask: netmask.map(expansion.expand), prefix: prefix))
    }
  }

  func checkSync(_ statement: Statement, scope: Scope, into settings: inout CheckedScope) {
    let example = "sync \"./app\" -> \"/srv/app\""
    let args = arguments(
      of: statement, scope: scope, positional: 1, example: example,
      options: ["type", "exclude", "disabled", "owner", "group"], needs: "SOURCE -> DESTINATION paths")
    var kind = SyncSpec.Kind.rsync
    var exclude: [StringLiteral] = []
    var disabled = false
    var owner: StringLiteral?
    var group: StringLiteral?
    if let option = args.options["type"], let chosen = choice(option.value, "'type:' of 'sync'", as: SyncSpec.Kind.self)
    {
      kind = chosen
    }
    if let option = args.options["exclude"],
      let list = stringList(option.value, "'exclude:' of 'sync'", example: "exclude: [\".git\", \"node_modules\"]")
    {
      exclude = list
    }
    if let option = args.options["disabled"], let flag = bool(option.value, "'disabled:' of 'sync'") {
      disabled = flag
    }
    if let option = args.options["owner"] { owner = stringOrName(option.value, "'owner:' of 'sync'") }
    if let option = args.options["group"] { group = stringOrName(option.value, "'group:' of 'sync'") }
    guard let value = args.values.first,
      let (left, right) = pair(value, "'sync'", expected: "SOURCE -> DESTINATION paths", example: example)
    else { return }
    let source = string(left, "the source of 'sync'", example: example)
    let destination = string(right, "the destination of 'sync'", example: example)
    guard let source, let destination else { return }
    checkText(source, at: left, scope: scope) {
      $0.isEmpty ? "the source of 'sync' is empty; write a host path like \"./app\"" : nil
    }
    var absolute = true
    checkText(destination, at: right, scope: scope) { text in
      absolute = absolute && text.hasPrefix("/")
      if absolute {
        settings.syncDestinations.append(SyncDestination(path: text, location: right.location, length: right.length))
      }
      return absolute
        ? nil : "the destination of 'sync' must be an absolute guest path like \"/srv/app\", got \"\(text)\""
    }
    append(statement, to: &settings) { machine, expansion in
      var sync = SyncSpec(source: expansion.expand(source), destination: expansion.expand(destination))
      sync.kind = kind
      sync.exclude = expansion.expand(exclude)
      sync.disabled = disabled
      sync.owner = owner.map(expansion.expand)
      sync.group = group.map(expansion.expand)
      machine.syncs.append(sync)
    }
  }
}

extension Validator {
  /// The prefix lengths a private network may have, by family: room for the host and machines.
  static func prefixRange(ipv6: Bool) -> ClosedRange<Int> { ipv6 ? 8...126 : 8...30 }

  /// `netmask:` is IPv4's; `prefix:` must suit the address's family.
  fileprivate func checkFamily(of ip: StringLiteral, netmask: Argument?, prefix: Int?, prefixOption: Argument?) {
    guard let text = expandedOnce(ip), let address = IPAddress(text) else { return }
    if address.isIPv6, let netmask {
      error(
        "'netmask:' is for IPv4 addresses, and \"\(address)\" is IPv6; write its prefix length instead, e.g. `prefix: 64`",
        atLabelOf: netmask)
    }
    guard let length = prefix, let option = prefixOption else { return }
    let range = Validator.prefixRange(ipv6: address.isIPv6)
    guard !range.contains(length) else { return }
    error(
      "'prefix:' of an \(address.isIPv6 ? "IPv6" : "IPv4") private network must be between \(range.lowerBound) and \(range.upperBound), got \(length) (\(length > range.upperBound ? "no room for the host and machines" : "a subnet far too large"))",
      at: option.value)
  }

  /// A `count:` machine's `ip:` is its first instance's address, and each next instance
  /// takes the next one: all of them must stay inside the subnet (its network address,
  /// and an IPv4 subnet's broadcast address, excluded). Names the first instance that would leave it.
  fileprivate func checkAddressRange(
    _ ip: StringLiteral, netmask: StringLiteral?, prefix: Int?, at value: Value, scope: Scope
  ) {
    guard scope.copies.count > 1, !ip.usesMachineVariables, let text = expandedOnce(ip),
      let first = IPAddress(text)
    else { return }
    var length = prefix ?? (first.isIPv6 ? 64 : 24)
    if let netmask, !first.isIPv6 {
      guard let mask = expandedOnce(netmask), let bits = IPv4Subnet.prefix(ofNetmask: mask) else { return }
      length = bits
    }
    let subnet = IPSubnet(containing: first, prefix: length)
    for copy in scope.copies {
      let address = first.advanced(by: copy.position)
      if let address, subnet.contains(address), address != subnet.lastHostAddress.advanced(by: 1) { continue }
      let shown = address?.description ?? "an address past the last one"
      error(
        "'ip:' of 'network' gives each instance of a count: machine the next address, but machine \"\(copy.name)\" would get \(shown), outside the subnet \(subnet) (its last host address is \(subnet.lastHostAddress)); start lower, widen \(first.isIPv6 ? "prefix:" : "netmask:"), or lower count:",
        at: value)
      return
    }
  }
}
