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
    /// What the guest reads as the disk's serial: `/dev/disk/by-id/virtio-caravan-data`.
    public var serial: String? = nil
    /// A read-only raw CD-ROM (the cloud-init seed) instead of a qcow2 disk.
    public var cdrom = false
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
  /// CPU features required of the host (`vmx` or `svm`: `libvirt { nested true }`).
  public var cpuFeatures: [String] = []
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
  /// UEFI (OVMF, chosen by libvirt from the firmware descriptors; its NVRAM made from
  /// the template at the first start), with Secure Boot and enrolled keys.
  public var uefi = false
  public var secureBoot = false
  /// An emulated TPM 2.0 (swtpm, started by libvirt).
  public var tpm = false
  /// `vnc` or `spice`, bound to 127.0.0.1 on a port libvirt chooses; nil: no display.
  public var display: String?

  /// The guest's name for the `index`-th disk: vda, vdb, …
  static func diskTarget(_ index: Int) -> String { "vd" + String(UnicodeScalar(UInt8(97 + index))) }

  var hasNinep: Bool { filesystems.contains { $0.kind == .ninep } }
  var hasVirtiofs: Bool { filesystems.contains { $0.kind != .ninep } }

  /// `xml` (a domain's, a snapshot's or a saved image's) with forward `from`
  /// moved to `to`'s host port; the rest is left as it is.
  static func moving(_ from: ResolvedForward, to: ResolvedForward, in xml: String) -> String {
    let hostfwd = DomainSkeleton.hostfwd
    return xml.replacingOccurrences(of: hostfwd(from) + ",", with: hostfwd(to) + ",")
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
    let slot = "0x" + String(DomainSkeleton.managementSlot + 1 + index, radix: 16)
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

  public var xml: String { skeleton.xml }

  /// The domain skeleton filled in for a machine.
  var skeleton: DomainSkeleton {
    // A VM generation ID: libvirt makes a new one when the domain is defined and again
    // when it starts from a snapshot or a saved state, so a guest started from a warm
    // state is told it is a copy (the kernel reseeds its RNG).
    DomainSkeleton(
      type: type, name: name, uuid: uuid, generationID: true, title: "Caravan machine '\(metadata.machine)'",
      description: "Made by Caravan for \(metadata.project); managed with `caravan` there.",
      metadata: XMLElement(
        "caravan:machine", [("xmlns:caravan", DomainDefinition.metadataNamespace)],
        children: [
          XMLElement("caravan:project", text: metadata.project),
          XMLElement("caravan:name", text: metadata.machine),
          XMLElement("caravan:pool", text: metadata.pool),
          XMLElement(
            "caravan:box", [("version", metadata.boxVersion), ("volume", metadata.boxVolume)], text: metadata.box),
        ]),
      memoryMiB: memoryMiB,
      // virtiofsd maps the guest's memory: it must be shared, not private to QEMU.
      sharedMemory: hasVirtiofs, vcpus: vcpus, machineType: machineType, cpuMode: cpuMode,
      cpuFeatures: cpuFeatures,
      disks: disks.map { disk in
        let source = [("pool", disk.pool), ("volume", disk.volume)]
        return disk.cdrom
          ? DomainSkeleton.cdrom(type: "volume", source: source, target: disk.target, bus: disk.bus)
          : DomainSkeleton.qcow2Disk(
            type: "volume", source: source, target: disk.target, bus: disk.bus, serial: disk.serial)
      },
      interfaces: interfaces.enumerated().map { DomainDefinition.interface($0.element, index: $0.offset) },
      consoleLog: consoleLog, filesystems: filesystems.map { DomainDefinition.filesystem($0, ninep: ninepAccess) },
      forwards: forwards, restrictNetwork: restrictNetwork, uefi: uefi, secureBoot: secureBoot,
      scsiController: disks.contains { $0.bus == "scsi" }, tpm: tpm, display: display)
  }
}
