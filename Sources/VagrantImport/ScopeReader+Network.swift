// `config.vm.network` (forwarded ports, private and public networks) and
// `config.vm.synced_folder`.

extension ScopeReader {
  mutating func readNetwork(_ event: ConfigEvent) {
    let kind = event.arguments.first?.text ?? "?"
    switch kind {
    case "forwarded_port": readForward(event)
    case "private_network": readPrivateNetwork(event)
    case "public_network": readPublicNetwork(event)
    default:
      drop(
        event.line, "config.vm.network \"\(kind)\"", "Caravan has forwarded_port, private_network and public_network")
    }
  }

  /// The options of a call (or a provisioner's), each once, in order.
  func callOptions(_ event: ConfigEvent) -> [RubyValue.Entry] {
    event.options?.entries ?? []
  }

  private mutating func readForward(_ event: ConfigEvent) {
    let what = "forwarded_port"
    guard let guest = event.option("guest")?.integer, let host = event.option("host")?.integer else {
      return drop(event.line, what, "it needs guest: and host: ports")
    }
    if guest == 22, event.option("id")?.text == "ssh" {
      return report.note(event.line, "\(what) \(host) -> 22 (id: ssh)", "Caravan forwards SSH itself")
    }
    var setting = Setting("forward", [.pair(.integer(host), .integer(guest))], line: event.line)
    for entry in callOptions(event) {
      switch entry.key {
      case "guest", "host": break
      case "protocol":
        if let text = entry.value.text { setting.setOption("protocol", .word(text)) }
      case "host_ip":
        if let text = entry.value.text { setting.setOption("host_ip", .text(text)) }
      case "auto_correct":
        if let flag = entry.value.bool { setting.setOption("auto_correct", .bool(flag)) }
      case "id":
        if let text = entry.value.text { setting.setOption("id", .text(text)) }
      default:
        drop(event.line, "\(what) option \(entry.key)", "not an option of Caravan's forward")
      }
    }
    add(setting)
  }

  private mutating func readPrivateNetwork(_ event: ConfigEvent) {
    let what = "private_network"
    var setting = Setting("network", [.word("private")], line: event.line)
    let ip = event.option("ip")?.text
    let ipv6 = ip?.contains(":") ?? false
    if let ip {
      setting.setOption("ip", .text(ip))
    } else if event.option("type")?.text == "dhcp" {
      setting.setOption("dhcp", .bool(true))
    } else {
      return drop(event.line, what, "it needs ip: or type: \"dhcp\"")
    }
    for entry in callOptions(event) {
      switch entry.key {
      case "ip": break
      case "type" where entry.value.text == "dhcp": break
      case "netmask", "prefix":
        if ipv6, let bits = entry.value.integer {
          setting.setOption("prefix", .integer(bits))
        } else if let bits = entry.value.integer, (0...32).contains(bits) {
          setting.setOption("netmask", .text(NetworkText.netmask(bits: bits)))
        } else if let text = entry.value.text {
          setting.setOption("netmask", .text(text))
        }
      default:
        drop(event.line, "\(what) option \(entry.key)", "not an option of Caravan's private network")
      }
    }
    if ipv6, setting.option("prefix") == nil { setting.setOption("prefix", .integer(64)) }
    add(setting)
  }

  private mutating func readPublicNetwork(_ event: ConfigEvent) {
    let what = "public_network"
    var setting = Setting("network", [.word("public")], line: event.line)
    for entry in callOptions(event) {
      switch entry.key {
      case "bridge", "dev":
        let bridges = entry.value.elements.compactMap(\.text)
        guard let first = bridges.first else { continue }
        setting.setOption("bridge", .text(first))
        for other in bridges.dropFirst() {
          drop(event.line, "\(what) bridge \"\(other)\"", "Caravan takes one bridge; the first one is written")
        }
      default:
        drop(event.line, "\(what) option \(entry.key)", "not an option of Caravan's public network")
      }
    }
    add(setting)
  }

  mutating func readSyncedFolder(_ event: ConfigEvent) {
    let paths = event.arguments.compactMap(\.text)
    guard paths.count == 2 else {
      return drop(event.line, "config.vm.synced_folder", "it needs a host path and a guest path")
    }
    let what = "synced_folder \"\(paths[1])\""
    var setting = Setting("sync", [.pair(.text(paths[0]), .text(paths[1]))], line: event.line)
    for entry in callOptions(event) {
      switch entry.key {
      case "type":
        guard let type = entry.value.text else { continue }
        switch type {
        case "rsync": setting.setOption("type", .word("rsync"))
        case "9p", "virtiofs": setting.setOption("type", .word(type))
        default:
          drop(
            event.line, "\(what) type \(type)",
            "Caravan syncs with rsync, 9p or virtiofs; written as rsync (a copy at up, not a live share)")
        }
      case "disabled":
        if let flag = entry.value.bool { setting.setOption("disabled", .bool(flag)) }
      case "owner", "group":
        if let text = entry.value.text { setting.setOption(entry.key, .text(text)) }
      case "rsync__exclude":
        setting.setOption("exclude", .list(entry.value.elements.compactMap(\.text).map(Written.text)))
      case "create", "id", "rsync__auto":
        break
      default:
        drop(event.line, "\(what) option \(entry.key)", "not an option of Caravan's sync")
      }
    }
    add(setting)
  }
}

/// Address texts.
enum NetworkText {
  /// `24` → `255.255.255.0`.
  static func netmask(bits: Int) -> String {
    let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - UInt32(bits))
    return [24, 16, 8, 0].map { String((mask >> UInt32($0)) & 0xff) }.joined(separator: ".")
  }

  /// An IPv4 address as a number, or nil.
  static func ipv4(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard let byte = UInt8(part), String(byte) == part else { return nil }
      value = value << 8 | UInt32(byte)
    }
    return value
  }
}
