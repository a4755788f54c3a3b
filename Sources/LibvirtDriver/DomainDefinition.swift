import Core
import Spec
import Support

/// The domain XML Caravan writes, as a typed model. `xml` encodes it.
public struct DomainDefinition: Equatable {
  public static let metadataNamespace = "https://caravan.dev/xmlns/machine/1"
  public static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

  public struct Disk: Equatable {
    public var pool: String
    public var volume: String
    public var target: String
    public var bus: String
  }

  /// What Caravan records inside the domain, so it can find its own domains.
  public struct Metadata: Equatable {
    public var project: String
    public var machine: String
    public var pool: String
    public var box: String
    public var boxVersion: String
    public var boxVolume: String
  }

  public var name: String
  public var uuid: String?
  public var type: String  // "kvm" or "qemu" (TCG)
  public var memoryMiB: UInt64
  public var vcpus: Int
  public var machineType: String
  public var cpuMode: String?
  public var metadata: Metadata
  public var disks: [Disk]
  public var consoleLog: String?
  public var forwards: [ResolvedForward]
  public var restrictNetwork: Bool
  /// Host folders shared with the guest (9p, virtiofs).
  public var filesystems: [SharedFolder] = []
  /// How 9p folders keep the guest's owners and modes (see `filesystem`).
  public var ninepAccess: NinepAccess = .passthrough

  /// libvirt's `accessmode` of a 9p folder.
  public enum NinepAccess: String, Sendable, Equatable {
    /// The guest's owners and modes on the host's files (QEMU must be allowed to chown).
    case passthrough
    /// The guest's owners, modes and special files in xattrs of plain files QEMU's user owns.
    case mapped
    /// As passthrough, but owner changes QEMU may not make are ignored.
    case squash
  }
  /// NICs on libvirt networks and host bridges, besides the management NIC.
  public var interfaces: [NetworkAttachment] = []

  /// The PCI slot of the management NIC (QEMU's own, outside libvirt's view);
  /// the other NICs take the slots after it, so every guest names the
  /// management NIC first (`eth0`, or the lowest `ens…`) whatever NICs it has.
  static let managementSlot = 0x10

  /// The guest's name for the `index`-th disk: vda, vdb, …
  static func diskTarget(_ index: Int) -> String { "vd" + String(UnicodeScalar(UInt8(97 + index))) }

  var hasNinep: Bool { filesystems.contains { $0.kind == .ninep } }
  var hasVirtiofs: Bool { filesystems.contains { $0.kind != .ninep } }

  /// QEMU user-mode networking with host forwards, passed through
  /// `<qemu:commandline>` (libvirt 9.0 has no `passt` port forwarding).
  /// The NIC needs a free PCI slot of its own.
  var netdevArguments: [String] {
    var netdev = "user,id=caravan0"
    for forward in forwards { netdev += "," + DomainDefinition.hostfwd(forward) }
    if restrictNetwork { netdev += ",restrict=on" }
    let slot = "0x" + String(DomainDefinition.managementSlot, radix: 16)
    return ["-netdev", netdev, "-device", "virtio-net-pci,netdev=caravan0,addr=\(slot)"]
  }

  /// The `-netdev user` option of one forward: `hostfwd=tcp:127.0.0.1:2222-:22`.
  static func hostfwd(_ forward: ResolvedForward) -> String {
    "hostfwd=\(forward.transport.rawValue):\(forward.hostIP):\(forward.host)-:\(forward.guest)"
  }

  /// `xml` (a domain's, a snapshot's or a saved image's) with forward `from`
  /// moved to `to`'s host port; the rest is left as it is.
  static func moving(_ from: ResolvedForward, to: ResolvedForward, in xml: String) -> String {
    xml.replacingOccurrences(of: hostfwd(from) + ",", with: hostfwd(to) + ",")
      .replacingOccurrences(of: hostfwd(from) + "'", with: hostfwd(to) + "'")
      .replacingOccurrences(of: hostfwd(from) + "\"", with: hostfwd(to) + "\"")
  }

  /// `<interface>` for the `index`-th extra NIC: virtio, its fixed MAC, the PCI slot after the management NIC's.
  static func interface(_ attachment: NetworkAttachment, index: Int) -> XMLElement {
    let source: XMLElement
    let type: String
    switch attachment.source {
    case .network(let name):
      type = "network"
      source = XMLElement("source", [("network", name)])
    case .bridge(let bridge):
      type = "bridge"
      source = XMLElement("source", [("bridge", bridge)])
    }
    let slot = "0x" + String(managementSlot + 1 + index, radix: 16)
    return XMLElement(
      "interface", [("type", type)],
      children: [
        XMLElement("mac", [("address", attachment.mac)]),
        source,
        XMLElement("model", [("type", "virtio")]),
        XMLElement(
          "address", [("type", "pci"), ("domain", "0x0000"), ("bus", "0x00"), ("slot", slot), ("function", "0x0")]),
      ])
  }

  /// `<filesystem>` for a shared folder.
  ///
  /// 9p is served by QEMU itself, as QEMU's own user, and QEMU never runs as root for it.
  /// Where QEMU is a normal user's (a session connection) it uses `squash`: as
  /// passthrough, but the owner changes that user's QEMU may not make are ignored instead
  /// of failing every guest write; the guest sees the host's owners (the user's uid), and
  /// what it writes lands on the host owned by the user. Elsewhere (the system
  /// connection, whose QEMU runs as `libvirt-qemu`) it uses `mapped`: the guest's owners,
  /// modes, device nodes and links live in xattrs of plain files that QEMU's user owns
  /// (0600, folders 0700), so nothing guest root does makes a setuid file or a device
  /// node on the host. virtiofs takes only passthrough; virtiofsd (started by libvirt)
  /// serves it.
  static func filesystem(_ folder: SharedFolder, ninep: NinepAccess = .passthrough) -> XMLElement {
    var children: [XMLElement] = []
    var accessMode = "passthrough"
    switch folder.kind {
    case .ninep:
      children.append(XMLElement("driver", [("type", "path")]))
      accessMode = ninep.rawValue
    case .virtiofs(let daemon):
      children.append(XMLElement("driver", [("type", "virtiofs")]))
      children.append(XMLElement("binary", [("path", daemon)]))
    }
    children.append(XMLElement("source", [("dir", folder.hostPath)]))
    children.append(XMLElement("target", [("dir", folder.tag)]))
    return XMLElement("filesystem", [("type", "mount"), ("accessmode", accessMode)], children: children)
  }

  public var xml: String {
    var root = XMLElement("domain", [("type", type), ("xmlns:qemu", DomainDefinition.qemuNamespace)])
    root.children.append(XMLElement("name", text: name))
    if let uuid { root.children.append(XMLElement("uuid", text: uuid)) }
    // A VM generation ID (QEMU's vmgenid device): libvirt makes a new one when the
    // domain is defined and again when it starts from a snapshot or a saved state, so a
    // guest started from a warm state is told it is a copy (the kernel reseeds its RNG).
    root.children.append(XMLElement("genid"))
    root.children.append(XMLElement("title", text: "Caravan machine '\(metadata.machine)'"))
    root.children.append(
      XMLElement("description", text: "Made by Caravan for \(metadata.project); managed with `caravan` there."))
    root.children.append(
      XMLElement(
        "metadata",
        children: [
          XMLElement(
            "caravan:machine", [("xmlns:caravan", DomainDefinition.metadataNamespace)],
            children: [
              XMLElement("caravan:project", text: metadata.project),
              XMLElement("caravan:name", text: metadata.machine),
              XMLElement("caravan:pool", text: metadata.pool),
              XMLElement(
                "caravan:box", [("version", metadata.boxVersion), ("volume", metadata.boxVolume)], text: metadata.box),
            ])
        ]))
    root.children.append(XMLElement("memory", [("unit", "MiB")], text: String(memoryMiB)))
    if hasVirtiofs {
      // virtiofsd maps the guest's memory: it must be shared, not private to QEMU.
      root.children.append(
        XMLElement(
          "memoryBacking",
          children: [XMLElement("source", [("type", "memfd")]), XMLElement("access", [("mode", "shared")])]
        ))
    }
    root.children.append(XMLElement("vcpu", text: String(vcpus)))
    root.children.append(
      XMLElement(
        "os",
        children: [
          XMLElement("type", [("arch", "x86_64"), ("machine", machineType)], text: "hvm"),
          XMLElement("boot", [("dev", "hd")]),
        ]))
    root.children.append(XMLElement("features", children: [XMLElement("acpi"), XMLElement("apic")]))
    if let cpuMode { root.children.append(XMLElement("cpu", [("mode", cpuMode)])) }
    root.children.append(XMLElement("clock", [("offset", "utc")]))
    root.children.append(XMLElement("on_poweroff", text: "destroy"))
    root.children.append(XMLElement("on_reboot", text: "restart"))
    root.children.append(XMLElement("on_crash", text: "destroy"))
    var devices = XMLElement("devices")
    for disk in disks {
      devices.children.append(
        XMLElement(
          "disk", [("type", "volume"), ("device", "disk")],
          children: [
            XMLElement("driver", [("name", "qemu"), ("type", "qcow2"), ("discard", "unmap")]),
            XMLElement("source", [("pool", disk.pool), ("volume", disk.volume)]),
            XMLElement("target", [("dev", disk.target), ("bus", disk.bus)]),
          ]))
    }
    devices.children += interfaces.enumerated().map { DomainDefinition.interface($0.element, index: $0.offset) }
    var serial = XMLElement("serial", [("type", "pty")], children: [XMLElement("target", [("port", "0")])])
    if let consoleLog { serial.children.insert(XMLElement("log", [("file", consoleLog), ("append", "off")]), at: 0) }
    devices.children.append(serial)
    devices.children.append(
      XMLElement("console", [("type", "pty")], children: [XMLElement("target", [("type", "serial"), ("port", "0")])]))
    devices.children.append(
      XMLElement(
        "rng", [("model", "virtio")], children: [XMLElement("backend", [("model", "random")], text: "/dev/urandom")]))
    devices.children.append(XMLElement("memballoon", [("model", "virtio")]))
    devices.children += filesystems.map { DomainDefinition.filesystem($0, ninep: ninepAccess) }
    root.children.append(devices)
    root.children.append(
      XMLElement("qemu:commandline", children: netdevArguments.map { XMLElement("qemu:arg", [("value", $0)]) }))
    return root.render()
  }
}
