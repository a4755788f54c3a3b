internal import CLibvirt
import Glibc
import Support

/// A snapshot of a domain. For QEMU with qcow2 disks these are internal
/// snapshots kept inside the disk images; libvirt keeps their metadata.
public final class DomainSnapshot {
  let handle: virDomainSnapshotPtr
  /// Kept so the domain (and its connection) outlives the snapshot.
  public let domain: Domain

  init(_ handle: virDomainSnapshotPtr, domain: Domain) {
    self.handle = handle
    self.domain = domain
  }

  deinit { virDomainSnapshotFree(handle) }

  public var name: String { virDomainSnapshotGetName(handle).map { String(cString: $0) } ?? "?" }

  public func xml() throws -> String {
    try takeString(
      virDomainSnapshotGetXMLDesc(handle, VIR_DOMAIN_SNAPSHOT_XML_SECURE.rawValue),
      "read snapshot '\(name)' of domain '\(domain.name)'")
  }

  /// What the snapshot's XML says: when it was taken and the domain's state then.
  public func summary() throws -> DomainSnapshotSummary {
    let text = try xml()
    func element(_ tag: String) -> String? {
      guard let open = text.range(of: "<\(tag)>"),
        let close = text.range(of: "</\(tag)>", range: open.upperBound..<text.endIndex)
      else { return nil }
      return String(text[open.upperBound..<close.lowerBound])
    }
    return DomainSnapshotSummary(
      name: name, creationTime: element("creationTime").flatMap { Int64($0) } ?? 0,
      state: element("state") ?? "unknown",
      description: element("description").map(DomainSnapshot.unescape))
  }

  static func unescape(_ text: String) -> String {
    text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&quot;", with: "\"")
      .replacingOccurrences(of: "&amp;", with: "&")
  }

  /// Puts the domain back as it was when the snapshot was taken. A snapshot of
  /// a running guest comes back running; one of a stopped guest stops it.
  public func revert() throws {
    let running = try summary().state == "running"
    let flags = running ? VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING.rawValue : 0
    try check(
      virDomainRevertToSnapshot(handle, flags), "restore snapshot '\(name)' of domain '\(domain.name)'")
  }

  /// Deletes the snapshot (its data in the disk images and its metadata).
  public func delete() throws {
    try check(virDomainSnapshotDelete(handle, 0), "delete snapshot '\(name)' of domain '\(domain.name)'")
  }
}

/// A snapshot as listed: name, creation time (seconds since 1970), the
/// domain's state when it was taken (libvirt's words: running, shutoff,
/// paused, …) and the description given at creation.
public struct DomainSnapshotSummary: Sendable, Equatable {
  public var name: String
  public var creationTime: Int64
  public var state: String
  public var description: String?

  public init(name: String, creationTime: Int64, state: String, description: String?) {
    self.name = name
    self.creationTime = creationTime
    self.state = state
    self.description = description
  }
}

extension Domain {
  /// Takes a snapshot named `name`: with the guest's memory when it runs (a
  /// full checkpoint), of the disks only when it is stopped.
  @discardableResult
  public func createSnapshot(name snapshotName: String, description: String? = nil) throws -> DomainSnapshot {
    var xml = "<domainsnapshot><name>\(Domain.escape(snapshotName))</name>"
    if let description { xml += "<description>\(Domain.escape(description))</description>" }
    xml += "</domainsnapshot>"
    let pointer = try check(
      virDomainSnapshotCreateXML(handle, xml, VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue),
      "take snapshot '\(snapshotName)' of domain '\(name)'")
    return DomainSnapshot(pointer, domain: self)
  }

  /// The snapshot of that name, or nil when there is none.
  public func snapshot(named snapshotName: String) throws -> DomainSnapshot? {
    if let pointer = virDomainSnapshotLookupByName(handle, snapshotName, 0) {
      return DomainSnapshot(pointer, domain: self)
    }
    let error = LibvirtError.last("look up snapshot '\(snapshotName)' of domain '\(name)'")
    if error.code == Int32(VIR_ERR_NO_DOMAIN_SNAPSHOT.rawValue) { return nil }
    throw error.caravanError
  }

  public func snapshots() throws -> [DomainSnapshot] {
    var list: UnsafeMutablePointer<virDomainSnapshotPtr?>?
    let count = try check(virDomainListAllSnapshots(handle, &list, 0), "list the snapshots of domain '\(name)'")
    defer { free(list) }
    return (0..<Int(count)).compactMap { list?[$0] }.map { DomainSnapshot($0, domain: self) }
  }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}

extension Domain {
  /// Gives libvirt the metadata of a snapshot whose data is already in the
  /// disk images (`VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE`): `xml` is a full
  /// `<domainsnapshot>` with the `<domain>` it restores, which carries this
  /// domain's UUID.
  @discardableResult
  public func redefineSnapshot(xml: String, name snapshotName: String) throws -> DomainSnapshot {
    let pointer = try check(
      virDomainSnapshotCreateXML(handle, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.rawValue),
      "define snapshot '\(snapshotName)' of domain '\(name)'")
    return DomainSnapshot(pointer, domain: self)
  }

  /// Hot-plugs a device into the running guest and keeps it in the definition
  /// for later boots.
  public func attachDevice(xml: String, what: String) throws {
    let flags = VIR_DOMAIN_AFFECT_LIVE.rawValue | VIR_DOMAIN_AFFECT_CONFIG.rawValue
    try check(virDomainAttachDeviceFlags(handle, xml, flags), "attach \(what) to domain '\(name)'")
  }
}
