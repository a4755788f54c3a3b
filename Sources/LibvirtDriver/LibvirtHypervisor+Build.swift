// Build VMs for `caravan build`: a domain on a disk file in the build's work folder that
// boots an installer kernel directly (`<os><kernel>/<initrd>/<cmdline>`) or an ISO, then
// the installed disk alone. User-mode networking without `restrict=on`, so the guest
// reaches the build's HTTP server on the host's 127.0.0.1 as 10.0.2.2; SSH is forwarded
// on 127.0.0.1. Keys are typed through virDomainSendKey.

import Core
import Foundation
import Libvirt
import Spec
import Support

public struct BuildDomain: Equatable, Sendable {
  public enum Boot: Equatable, Sendable {
    case kernel(kernel: String, initrd: String, cmdline: String)
    case cdrom(iso: String)
    case disk
  }

  public var name: String
  public var accelerator: Accelerator
  public var cpus: Int
  public var memoryMiB: UInt64
  /// A qcow2 file.
  public var disk: String
  public var boot: Boot
  public var sshPort: Int
  public var consoleLog: String
  /// The build's lock file and work folder, kept in the domain so that a later build can
  /// tell a killed build's VM (its lock is free) and remove it with its folder.
  public var lockPath: String = ""
  public var workFolder: String = ""

  public static let metadataNamespace = "https://caravan.dev/xmlns/build/1"

  public init(
    name: String, accelerator: Accelerator, cpus: Int, memoryMiB: UInt64, disk: String, boot: Boot, sshPort: Int,
    consoleLog: String
  ) {
    self.name = name
    self.accelerator = accelerator
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.disk = disk
    self.boot = boot
    self.sshPort = sshPort
    self.consoleLog = consoleLog
  }

  public var xml: String { skeleton.xml }

  /// The machine's domain skeleton, varied for a build: no generation ID, the installer
  /// boot, a disk file (and an ISO), an appended console log, a keyboard and a display,
  /// no balloon, and only SSH forwarded, without `restrict=on`.
  var skeleton: DomainSkeleton {
    var disks = [DomainSkeleton.qcow2Disk(type: "file", source: [("file", disk)], target: "vda", bus: "virtio")]
    if case .cdrom(let iso) = boot {
      disks.append(
        XMLElement(
          "disk", [("type", "file"), ("device", "cdrom")],
          children: [
            XMLElement("driver", [("name", "qemu"), ("type", "raw")]),
            XMLElement("source", [("file", iso)]),
            XMLElement("target", [("dev", "hdc"), ("bus", "ide")]),
            XMLElement("readonly"),
          ]))
    }
    return DomainSkeleton(
      type: accelerator == .kvm ? "kvm" : "qemu", name: name, title: "Caravan build VM",
      description: "Made by `caravan build`; removed when the build ends.",
      metadata: XMLElement(
        "caravan:build", [("xmlns:caravan", BuildDomain.metadataNamespace)],
        children: [XMLElement("caravan:lock", text: lockPath), XMLElement("caravan:work", text: workFolder)]),
      memoryMiB: memoryMiB, vcpus: cpus, boot: bootElements,
      // An installer's reboot ends its run as a power-off would: the next boot is Caravan's.
      onReboot: "destroy", disks: disks, consoleLog: consoleLog, appendConsoleLog: true, keyboardAndDisplay: true,
      memoryBalloon: false, forwards: [ResolvedForward(transport: .tcp, hostIP: "127.0.0.1", host: sshPort, guest: 22)])
  }

  /// What `<os>` holds after its `<type>`.
  private var bootElements: [XMLElement] {
    switch boot {
    case .kernel(let kernel, let initrd, let cmdline):
      [XMLElement("kernel", text: kernel), XMLElement("initrd", text: initrd), XMLElement("cmdline", text: cmdline)]
    case .cdrom:
      [XMLElement("boot", [("dev", "cdrom")]), XMLElement("boot", [("dev", "hd")])]
    case .disk:
      [XMLElement("boot", [("dev", "hd")])]
    }
  }
}

extension LibvirtHypervisor {
  /// Defines (replacing a stopped one of that name) and starts a build VM.
  public func startBuildDomain(_ plan: BuildDomain) throws {
    try prepareSession()
    if let old = try connection.domain(named: plan.name) {
      if try old.state().isActive {
        throw CaravanError(
          .conflict, "the build VM '\(plan.name)' is already running: another build of this Boxfile is under way",
          hint: "Wait for it, or stop it: virsh -c \(uri) destroy \(plan.name)")
      }
      try old.undefine()
    }
    let domain = try connection.defineDomain(xml: plan.xml, name: plan.name)
    do {
      try domain.start()
    } catch {
      try? domain.undefine()
      throw error
    }
  }

  /// Whether the build VM is still running (false once it powered off or is gone).
  public func buildDomainRunning(_ name: String) throws -> Bool {
    guard let found = try connection.domain(named: name) else { return false }
    return try found.state().isActive
  }

  public func sendKeys(domain name: String, _ codes: [UInt32]) throws {
    try lookup(name).sendKey(codes)
  }

  /// Powers the build VM off if it runs, and removes its definition (its disk is a file
  /// of the build's work folder, removed with it).
  public func removeBuildDomain(_ name: String) throws {
    guard let found = try connection.domain(named: name) else { return }
    if try found.state().isActive { try found.destroy() }
    try found.undefine()
  }

  /// Every build VM on this connection with the lock file and work folder it recorded.
  public func buildDomains() throws -> [(name: String, lock: String, work: String)] {
    try connection.allDomains().filter { $0.name.hasPrefix("caravan-build-") }.map { domain in
      let xml = ((try? domain.metadata(namespace: BuildDomain.metadataNamespace)) ?? nil) ?? ""
      return (domain.name, MetadataReader.text(xml, "lock") ?? "", MetadataReader.text(xml, "work") ?? "")
    }
  }

  /// A build VM kept for the user (`--on-error keep`): its recorded lock is cleared, so no
  /// later build takes it for a killed build's and removes it.
  public func markBuildDomainKept(_ name: String, workFolder: String) throws {
    try lookup(name).setMetadata(
      "<build><lock></lock><work>\(XMLElement.escape(workFolder))</work></build>",
      namespace: BuildDomain.metadataNamespace, key: "caravan")
  }

  /// Asks the build VM to shut down through ACPI.
  public func shutdownBuildDomain(_ name: String) throws {
    try lookup(name).shutdown()
  }
}
