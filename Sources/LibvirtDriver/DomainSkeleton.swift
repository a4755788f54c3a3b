import Core

/// The one domain XML Caravan writes: a machine's (`DomainDefinition.skeleton`) and a build
/// VM's (`BuildDomain.skeleton`, a variation of it) fill it in. Its parts keep libvirt's
/// order; the management NIC is QEMU's own user-mode network with host forwards, passed
/// through `<qemu:commandline>` (libvirt 9.0 has no `passt` port forwarding).
struct DomainSkeleton {
  var type: String  // "kvm" or "qemu" (TCG)
  var name: String
  var uuid: String?
  /// A VM generation ID (QEMU's vmgenid device).
  var generationID = false
  var title: String
  var description: String
  /// The `<caravan:…>` element inside `<metadata>`.
  var metadata: XMLElement
  var memoryMiB: UInt64
  /// Memory shared with other processes (virtiofsd), not private to QEMU.
  var sharedMemory = false
  var vcpus: Int
  var machineType = "pc"
  /// What `<os>` holds after its `<type>`: boot devices, or a kernel to boot directly.
  var boot: [XMLElement] = [XMLElement("boot", [("dev", "hd")])]
  var cpuMode: String?
  /// CPU features the domain requires (`vmx` or `svm` for a nested machine), in its
  /// `cpuMode` (host-passthrough when none is set).
  var cpuFeatures: [String] = []
  var onReboot = "restart"
  var disks: [XMLElement]
  var interfaces: [XMLElement] = []
  var consoleLog: String?
  /// Whether the console log is appended to (else truncated when the domain starts).
  var appendConsoleLog = false
  /// A keyboard (for typed boot commands) and a display (for an installer's text console).
  var keyboardAndDisplay = false
  var memoryBalloon = true
  var filesystems: [XMLElement] = []
  var forwards: [ResolvedForward]
  var restrictNetwork = false
  /// UEFI firmware (OVMF), chosen by libvirt from the firmware descriptors.
  var uefi = false
  /// With `uefi`: Secure Boot and the enrolled keys (needs q35 and SMM).
  var secureBoot = false
  /// A virtio-scsi controller, for the disks on bus `scsi`.
  var scsiController = false
  /// An emulated TPM 2.0 (CRB), swtpm started by libvirt.
  var tpm = false
  /// A display (`vnc` or `spice`) on 127.0.0.1, its port chosen by libvirt.
  var display: String?

  /// The PCI slot of the management NIC (QEMU's own, outside libvirt's view);
  /// the other NICs take the slots after it, so every guest names the
  /// management NIC first (`eth0`, or the lowest `ens…`) whatever NICs it has.
  static let managementSlot = 0x10

  var xml: String {
    var root = XMLElement("domain", [("type", type), ("xmlns:qemu", DomainDefinition.qemuNamespace)])
    root.children = header + machine + [devices, commandline]
    return root.render()
  }

  /// Name, identity, title, description and metadata.
  private var header: [XMLElement] {
    var elements = [XMLElement("name", text: name)]
    if let uuid { elements.append(XMLElement("uuid", text: uuid)) }
    if generationID { elements.append(XMLElement("genid")) }
    elements.append(XMLElement("title", text: title))
    elements.append(XMLElement("description", text: description))
    elements.append(XMLElement("metadata", children: [metadata]))
    return elements
  }

  /// Memory, CPUs, firmware boot, features, clock and life cycle events.
  private var machine: [XMLElement] {
    var elements = [XMLElement("memory", [("unit", "MiB")], text: String(memoryMiB))]
    if sharedMemory {
      elements.append(
        XMLElement(
          "memoryBacking",
          children: [XMLElement("source", [("type", "memfd")]), XMLElement("access", [("mode", "shared")])]))
    }
    elements.append(XMLElement("vcpu", text: String(vcpus)))
    elements.append(os)
    var features = [XMLElement("acpi"), XMLElement("apic")]
    if secureBoot { features.append(XMLElement("smm", [("state", "on")])) }
    elements.append(XMLElement("features", children: features))
    if cpuMode != nil || !cpuFeatures.isEmpty {
      let features = cpuFeatures.map { XMLElement("feature", [("policy", "require"), ("name", $0)]) }
      elements.append(XMLElement("cpu", [("mode", cpuMode ?? "host-passthrough")], children: features))
    }
    elements.append(XMLElement("clock", [("offset", "utc")]))
    elements.append(XMLElement("on_poweroff", text: "destroy"))
    elements.append(XMLElement("on_reboot", text: onReboot))
    elements.append(XMLElement("on_crash", text: "destroy"))
    return elements
  }

  /// `<os>`: the machine type, the firmware (libvirt picks OVMF's files by the features
  /// asked for, both said so the choice never depends on which descriptor sorts first), boot.
  private var os: XMLElement {
    var children = [XMLElement("type", [("arch", "x86_64"), ("machine", machineType)], text: "hvm")]
    var attributes: [(String, String)] = []
    if uefi {
      attributes.append(("firmware", "efi"))
      let enabled = secureBoot ? "yes" : "no"
      children.append(
        XMLElement(
          "firmware",
          children: [
            XMLElement("feature", [("enabled", enabled), ("name", "enrolled-keys")]),
            XMLElement("feature", [("enabled", enabled), ("name", "secure-boot")]),
          ]))
      if secureBoot { children.append(XMLElement("loader", [("secure", "yes")])) }
    }
    return XMLElement("os", attributes, children: children + boot)
  }

  private var devices: XMLElement {
    var devices = XMLElement("devices", children: disks + interfaces)
    if scsiController {
      devices.children.append(XMLElement("controller", [("type", "scsi"), ("model", "virtio-scsi")]))
    }
    var serial = XMLElement("serial", [("type", "pty")], children: [XMLElement("target", [("port", "0")])])
    if let consoleLog {
      serial.children.insert(
        XMLElement("log", [("file", consoleLog), ("append", appendConsoleLog ? "on" : "off")]), at: 0)
    }
    devices.children.append(serial)
    devices.children.append(
      XMLElement("console", [("type", "pty")], children: [XMLElement("target", [("type", "serial"), ("port", "0")])]))
    if keyboardAndDisplay {
      devices.children.append(XMLElement("input", [("type", "keyboard"), ("bus", "ps2")]))
      devices.children.append(XMLElement("graphics", [("type", "vnc"), ("listen", "127.0.0.1"), ("autoport", "yes")]))
      devices.children.append(XMLElement("video", children: [XMLElement("model", [("type", "vga")])]))
    } else if let display {
      devices.children.append(XMLElement("input", [("type", "tablet"), ("bus", "usb")]))
      devices.children.append(
        XMLElement(
          "graphics", [("type", display), ("autoport", "yes")],
          children: [XMLElement("listen", [("type", "address"), ("address", "127.0.0.1")])]))
      devices.children.append(XMLElement("video", children: [XMLElement("model", [("type", "virtio")])]))
    }
    if tpm {
      devices.children.append(
        XMLElement(
          "tpm", [("model", "tpm-crb")], children: [XMLElement("backend", [("type", "emulator"), ("version", "2.0")])]))
    }
    devices.children.append(
      XMLElement(
        "rng", [("model", "virtio")], children: [XMLElement("backend", [("model", "random")], text: "/dev/urandom")]))
    if memoryBalloon { devices.children.append(XMLElement("memballoon", [("model", "virtio")])) }
    devices.children += filesystems
    return devices
  }

  private var commandline: XMLElement {
    XMLElement("qemu:commandline", children: netdevArguments.map { XMLElement("qemu:arg", [("value", $0)]) })
  }

  /// QEMU user-mode networking with host forwards; the NIC needs a free PCI slot of its own.
  var netdevArguments: [String] {
    var netdev = "user,id=caravan0"
    for forward in forwards { netdev += "," + DomainSkeleton.hostfwd(forward) }
    if restrictNetwork { netdev += ",restrict=on" }
    let slot = "0x" + String(DomainSkeleton.managementSlot, radix: 16)
    return ["-netdev", netdev, "-device", "virtio-net-pci,netdev=caravan0,addr=\(slot)"]
  }

  /// A qcow2 disk whose `source` is a pool volume (`pool`, `volume`) or a file (`file`).
  static func qcow2Disk(
    type: String, source: [(String, String)], target: String, bus: String, serial: String? = nil
  ) -> XMLElement {
    var disk = XMLElement(
      "disk", [("type", type), ("device", "disk")],
      children: [
        XMLElement("driver", [("name", "qemu"), ("type", "qcow2"), ("discard", "unmap")]),
        XMLElement("source", source),
        XMLElement("target", [("dev", target), ("bus", bus)]),
      ])
    if let serial { disk.children.append(XMLElement("serial", text: serial)) }
    return disk
  }

  /// A read-only raw CD-ROM whose `source` is a pool volume or a file.
  static func cdrom(type: String, source: [(String, String)], target: String, bus: String) -> XMLElement {
    XMLElement(
      "disk", [("type", type), ("device", "cdrom")],
      children: [
        XMLElement("driver", [("name", "qemu"), ("type", "raw")]),
        XMLElement("source", source),
        XMLElement("target", [("dev", target), ("bus", bus)]),
        XMLElement("readonly"),
      ])
  }

  /// The `-netdev user` option of one forward: `hostfwd=tcp:127.0.0.1:2222-:22`.
  static func hostfwd(_ forward: ResolvedForward) -> String {
    "hostfwd=\(forward.transport.rawValue):\(forward.hostIP):\(forward.host)-:\(forward.guest)"
  }
}
