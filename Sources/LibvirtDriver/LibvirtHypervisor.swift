import Boxes
import Core
import Foundation
import Host
import Libvirt
import Spec
import Support

/// `Hypervisor` over libvirt: domains from `DomainDefinition`, machine disks as
/// qcow2 overlays on the box's pool volume, Caravan metadata in every domain.
public final class LibvirtHypervisor: Hypervisor {
  public let connection: Connection
  public var uri: String { connection.uri }
  /// Where box import locks live (`$CARAVAN_HOME/locks`).
  let lockDirectory: String
  let defaultPool: String?

  /// Connects to `uri`; a failure says how to start libvirt.
  public init(uri: String, pool: String? = nil, lockDirectory: String) throws {
    // The session daemon this connection may start inherits HOME: the one Caravan uses.
    if LibvirtFolders.isSession(uri) && LibvirtURI.isLocalURI(uri) { UserHome.adoptForSession() }
    do {
      connection = try Connection(uri: uri)
    } catch var error as CaravanError {
      if let remote = try? LibvirtURI(uri), !remote.isLocal {
        error.hint = LibvirtHypervisor.howToReach(remote)
      } else {
        error.hint = LibvirtHypervisor.howToStart(uri)
      }
      throw error
    }
    self.lockDirectory = lockDirectory
    defaultPool = pool
  }

  /// What to do when libvirt on this machine cannot be reached.
  static func howToStart(_ uri: String) -> String {
    let start =
      LibvirtFolders.isSession(uri)
      ? "Check that libvirt's session daemon can start (`virsh -c \(uri) list`)"
      : "Start it: `sudo systemctl start libvirtd` (or `libvirtd -d` and `virtlogd -d` where systemd does not run)"
    return "Is libvirtd running? \(start). Another URI can be set with CARAVAN_LIBVIRT_URI."
  }

  /// What to check when a remote libvirt cannot be reached: its host's sshd, the
  /// key, and libvirt itself, each with the command that shows it.
  static func howToReach(_ remote: LibvirtURI) -> String {
    guard let jump = try? remote.jump() else {
      return
        "Check that \(remote.host) is reachable and that its libvirtd listens for \(remote.transport ?? "tls") (`virsh -c '\(remote.text)' list`); Caravan reaches the guests of a remote libvirt only through SSH: use \(remote.driver)+ssh://."
    }
    let login = (["ssh"] + jump.clientArguments + [jump.destination, "true"]).map(shellWord).joined(separator: " ")
    let key =
      jump.identityFile.map { "the key '\($0)' (the URI's keyfile)" }
      ?? "your SSH keys or agent (or add ?keyfile=PATH to the URI)"
    return """
      Check from this machine: (1) that \(jump.host)'s sshd is reachable and lets \(jump.user ?? "you") in with \(key) and no password prompt: `\(login)`;       (2) that \(jump.host)'s host key is known (in ~/.ssh/known_hosts\(jump.verifyHostKey ? "" : "; the URI's no_verify=1 skips the check"));       (3) that libvirt answers there: `virsh -c '\(remote.text)' list` (libvirtd runs on \(jump.host) and that user may use it).
      """
  }

  /// The `libvirt { … }` settings this driver acts on, and `network` (private
  /// networks it defines, host bridges it attaches to).
  public static let support = SettingSupport(
    settings: [
      "network", "libvirt", "libvirt.uri", "libvirt.accel", "libvirt.pool", "libvirt.machine_type",
      "libvirt.cpu_mode", "libvirt.nested", "libvirt.warm", "libvirt.firmware", "libvirt.secure_boot",
      "libvirt.tpm", "libvirt.graphics",
    ])
  public var support: SettingSupport { LibvirtHypervisor.support }

  // MARK: Queries

  public func status(domain: String) throws -> MachineStatus {
    guard let found = try connection.domain(named: domain) else { return .notCreated }
    return try status(of: found)
  }

  /// libvirt's state in Caravan's words; a shut-off domain with saved memory is `.saved`.
  func status(of found: Domain) throws -> MachineStatus {
    switch try found.state() {
    case .running, .blocked: return .running
    case .paused: return .paused
    case .shuttingDown: return .shuttingDown
    case .shutoff: return try found.hasManagedSaveImage() ? .saved : .poweroff
    case .crashed: return .crashed
    case .suspended: return .suspended
    case .unknown: return .unknown
    }
  }

  public func uuid(domain: String) throws -> String? {
    try connection.domain(named: domain)?.uuid()
  }

  public func hostResources() throws -> HostResources {
    let node = try connection.nodeInfo()
    return HostResources(cpus: node.cpus, availableMemoryMiB: connection.availableMemoryKiB().map { Int($0 / 1024) })
  }

  public func chooseAccelerator(_ requested: LibvirtSettings.Accel) throws -> AcceleratorChoice {
    try AcceleratorDetector(capabilities: { try self.connection.capabilities() }, isLocal: LibvirtURI.isLocalURI(uri))
      .choose(requested)
  }

  /// Where this libvirt keeps its logs and a new pool's folder (see `LibvirtFolders`).
  public var folders: LibvirtFolders { LibvirtFolders(uri: uri) }

  public func consoleLogPath(domain: String) -> String { folders.consoleLog(domain: domain) }

  public func startLog(domain: String) -> String? {
    guard LibvirtURI.isLocalURI(uri),
      let text = try? String(contentsOfFile: folders.qemuLog(domain: domain), encoding: .utf8)
    else { return nil }
    return LibvirtHypervisor.lastStartErrors(in: text)
  }

  /// QEMU's error lines (the last three) of the last start in a domain's QEMU log,
  /// the lines after its last "…: starting up libvirt version…" line: an earlier
  /// start's failure is not this one's.
  static func lastStartErrors(in log: String) -> String? {
    let lines = log.split(separator: "\n")
    let start = lines.lastIndex { $0.contains(": starting up ") }.map { $0 + 1 } ?? lines.startIndex
    let errors = lines[start...].filter {
      $0.contains("qemu-system") && ($0.contains("rror") || $0.contains("Could not") || $0.contains("could not"))
    }
    return errors.isEmpty ? nil : OutputTail(3, of: errors).joined(separator: "\n")
  }

  /// Before a domain starts on this machine's qemu:///session: the folders its daemon
  /// does not make itself (its QEMU log folder; `pool`'s parent folder).
  func prepareSession(pool: String? = nil) throws {
    guard LibvirtURI.isLocalURI(uri) else { return }
    try folders.makeSessionFolders(pool: pool)
  }

  func metadata(of domain: Domain) throws -> DomainDefinition.Metadata? {
    guard let xml = try domain.metadata(namespace: DomainDefinition.metadataNamespace) else { return nil }
    return MetadataReader.parse(xml)
  }

  public func domains(ofProject projectRoot: String) throws -> [String] {
    try connection.allDomains().compactMap { domain in
      try metadata(of: domain)?.project == projectRoot ? domain.name : nil
    }
  }

  public func machinesUsing(box: InstalledBox) throws -> [String] {
    try BoxPool(connection: connection, name: defaultPool).machinesUsing(box)
  }

  @discardableResult
  public func removeBoxVolume(_ box: InstalledBox) throws -> Bool {
    try BoxPool(connection: connection, name: defaultPool).removeBoxVolume(box)
  }

  /// After a `box add --force`: removes the default pool's volumes of the
  /// box version's earlier images that no machine uses; returns the machines
  /// (and disks) that keep one.
  public func removeEarlierImages(_ box: InstalledBox, progress: (String) -> Void) throws -> [String] {
    let boxes = BoxPool(connection: connection, name: defaultPool)
    guard let pool = try connection.pool(named: boxes.name), try pool.isActive() else { return [] }
    try pool.refresh()
    return try boxes.removeEarlierImages(box, in: pool, progress: progress)
  }

  // MARK: Changes

  /// The machine's disk over the box's `disk`-th image.
  static func overlayName(_ domain: String, disk: Int = 0) -> String {
    disk == 0 ? domain + ".qcow2" : domain + "-disk\(disk + 1).qcow2"
  }

  public func importBox(_ box: InstalledBox, pool: String?, progress: (String) -> Void) throws {
    _ = try BoxPool(connection: connection, name: pool ?? defaultPool).importBox(
      box, lockDirectory: lockDirectory, progress: progress)
  }

  /// Defines the domain first (so a kill from here on leaves a domain with
  /// Caravan metadata, which `destroy` finds), then makes any missing overlay.
  public func define(_ plan: MachinePlan, progress: (String) -> Void) throws -> String {
    // QEMU 7.2's user-mode networking refuses hostfwd on an IPv6 address
    // ("Bad host address"): say so before anything is defined.
    if let forward = plan.forwards.first(where: { $0.hostIP.contains(":") }) {
      throw CaravanError(
        .invalidInput,
        "machine '\(plan.machineName)': the forward \(forward.host) -> \(forward.guest) is on the IPv6 address '\(forward.hostIP)', which QEMU's user-mode networking cannot forward on",
        hint: "Use an IPv4 host_ip, such as \"127.0.0.1\" (the default).")
    }
    let boxes = BoxPool(connection: connection, name: plan.pool ?? defaultPool)
    try prepareSession(pool: boxes.name)
    let boxVolumes = try boxes.importBox(plan.box, lockDirectory: lockDirectory, progress: progress)
    let rootCapacity = try LibvirtHypervisor.rootCapacity(plan, boxCapacity: try boxVolumes[0].info().capacity)
    let boxDisks = boxVolumes.indices.map { index in
      DomainDefinition.Disk(
        pool: boxes.name, volume: LibvirtHypervisor.overlayName(plan.domainName, disk: index),
        target: DomainDefinition.diskTarget(index), bus: "virtio")
    }
    let disks =
      boxDisks
      + LibvirtHypervisor.deviceDisks(plan, pool: boxes.name, boxDisks: boxDisks.count)
    let existing = try connection.domain(named: plan.domainName)
    var definition = try domainDefinition(plan, pool: boxes.name, disks: disks, uuid: try existing?.uuid())
    let pool = try boxes.ensure()
    // A machine made before a `box add --force` keeps the image its disk is on, and its metadata names that one.
    if let disk = try pool.volume(named: disks[0].volume), let backing = BoxPool.backingPath(try disk.xml()) {
      definition.metadata.boxVolume = (backing as NSString).lastPathComponent
    }
    let uuid = try connection.defineDomain(xml: definition.xml, name: plan.domainName).uuid()
    // From here a kill leaves a domain with Caravan metadata: `destroy` finds it and every volume named after it.
    for (index, (disk, boxVolume)) in zip(boxDisks, boxVolumes).enumerated() {
      if let made = try pool.volume(named: disk.volume) {
        if index == 0 { try growRootDisk(made, to: rootCapacity, progress: progress) }
      } else {
        try createOverlay(named: disk.volume, on: boxVolume, in: pool, capacity: index == 0 ? rootCapacity : nil)
      }
    }
    try createVolumes(plan, in: pool, progress: progress)
    try writeSeed(plan, in: pool)
    return uuid
  }

  /// The machine type: the plan's, else q35 for Secure Boot (it needs SMM), else pc.
  static func machineType(_ plan: MachinePlan) -> String {
    plan.machineType ?? (plan.devices.secureBoot ? "q35" : "pc")
  }

  /// A qcow2 volume `name` in `pool` backed by `boxVolume`: O(1), no copy; its
  /// virtual size is the box image's, or `capacity` (`disk`: larger).
  @discardableResult
  func createOverlay(named name: String, on boxVolume: Volume, in pool: StoragePool, capacity: UInt64? = nil) throws
    -> Volume
  {
    let xml = """
      <volume>
        <name>\(name)</name>
        <capacity unit='bytes'>\(try capacity ?? boxVolume.info().capacity)</capacity>
        <target><format type='qcow2'/></target>
        <backingStore><path>\(try boxVolume.path())</path><format type='qcow2'/></backingStore>
      </volume>
      """
    return try pool.createVolume(xml: xml, name: name)
  }

  /// The domain XML model of `plan` on `disks` of `pool`.
  func domainDefinition(_ plan: MachinePlan, pool: String, disks: [DomainDefinition.Disk], uuid: String?)
    throws -> DomainDefinition
  {
    DomainDefinition(
      name: plan.domainName, uuid: uuid,
      type: plan.accelerator == .kvm ? "kvm" : "qemu",
      memoryMiB: plan.memoryMiB, vcpus: plan.cpus,
      machineType: LibvirtHypervisor.machineType(plan),
      cpuMode: plan.accelerator == .kvm ? (plan.cpuMode ?? "host-passthrough") : plan.cpuMode,
      cpuFeatures: try requiredCPUFeatures(plan),
      metadata: .init(
        project: plan.projectRoot, machine: plan.machineName, pool: pool,
        box: plan.box.name, boxVersion: plan.box.version, boxVolume: plan.box.volumeName),
      disks: disks,
      consoleLog: consoleLogPath(domain: plan.domainName),
      forwards: plan.forwards, restrictNetwork: plan.network == .userMode(restricted: true),
      filesystems: plan.sharedFolders,
      ninepAccess: qemuIsCaller ? .squash : .mapped,
      interfaces: plan.attachments, uefi: plan.devices.firmware == .uefi, secureBoot: plan.devices.secureBoot,
      tpm: plan.devices.tpm, display: plan.devices.graphics == .none ? nil : plan.devices.graphics.rawValue)
  }

  public func start(domain: String) throws {
    try prepareSession()
    try lookup(domain).start()
  }

  public func requestShutdown(domain: String) throws {
    try lookup(domain).shutdown()
  }

  public func forceOff(domain: String) throws {
    guard let found = try connection.domain(named: domain) else { return }
    let state = try found.state()
    if state == .shutoff { return }
    try found.destroy()
  }

  @discardableResult
  public func remove(domain: String, keepLogs: Bool, keepVolumes: Set<String>) throws -> [String] {
    try remove(domain: domain, keepLogs: keepLogs, keepVolumes: keepVolumes, pool: defaultPool ?? BoxPool.defaultName)
  }

  /// `remove`, looking in `pool` for the volumes of a domain that is gone (one that is
  /// there names its own pool in its metadata).
  @discardableResult
  func remove(domain: String, keepLogs: Bool, keepVolumes: Set<String>, pool fallback: String) throws -> [String] {
    var poolName = fallback
    if let found = try connection.domain(named: domain) {
      if let meta = try metadata(of: found) { poolName = meta.pool }
      if try found.state() != .shutoff { try found.destroy() }
      try found.undefine()
    }
    // A copy a killed `caravan package` left: its volumes are named after the machine's domain.
    let copy = Lifecycle.packageCopyName(domain)
    try undefine(domain: copy)
    if LibvirtURI.isLocalURI(uri) { removeLogs(copy) }
    var kept: [String] = []
    if let pool = try connection.pool(named: poolName) {
      // Caravan's pool: an inactive one is started, or its overlays would be missed.
      if try !pool.isActive() { try pool.start() }
      try pool.refresh()
      for volume in try pool.volumes() {
        let (isMachine, named) = LibvirtHypervisor.machineVolume(volume.name, of: domain)
        guard isMachine else { continue }
        if let named, keepVolumes.contains(named) {
          kept.append(try volume.path())
        } else {
          try volume.delete()
        }
      }
    }
    // A remote libvirt's logs are on its host, out of reach: nothing here is removed.
    if !keepLogs && LibvirtURI.isLocalURI(uri) { removeLogs(domain) }
    return kept
  }

  func removeLogs(_ domain: String) {
    try? FileManager.default.removeItem(atPath: consoleLogPath(domain: domain))
    try? FileManager.default.removeItem(atPath: folders.qemuLog(domain: domain))
  }

  public func undefine(domain: String) throws {
    guard let found = try connection.domain(named: domain) else { return }
    if try found.state() != .shutoff { try found.destroy() }
    try found.undefine()
  }

  func lookup(_ domain: String) throws -> Domain {
    guard let found = try connection.domain(named: domain) else {
      throw CaravanError(
        .notFound, "libvirt (\(uri)) has no domain '\(domain)'",
        hint: "It was removed outside Caravan; `caravan up` makes it anew.")
    }
    return found
  }
}
