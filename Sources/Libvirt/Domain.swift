internal import CLibvirt
import Glibc
import Support

/// What libvirt says a domain is doing (`virDomainState`).
public enum DomainState: String, Sendable, Equatable {
  case running, blocked, paused
  case shuttingDown = "shutting down"
  case shutoff, crashed
  case suspended = "pmsuspended"
  case unknown

  init(_ raw: Int32) {
    switch UInt32(bitPattern: raw) {
    case VIR_DOMAIN_RUNNING.rawValue: self = .running
    case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
    case VIR_DOMAIN_PAUSED.rawValue: self = .paused
    case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shuttingDown
    case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutoff
    case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
    case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .suspended
    default: self = .unknown
    }
  }

  /// Running in the sense users mean: the guest executes (or is about to stop).
  public var isActive: Bool { self == .running || self == .blocked || self == .shuttingDown }
}

public final class Domain {
  let handle: virDomainPtr
  /// Kept so the connection outlives every object made from it.
  public let connection: Connection

  init(_ handle: virDomainPtr, connection: Connection) {
    self.handle = handle
    self.connection = connection
  }

  deinit { virDomainFree(handle) }

  public var name: String { virDomainGetName(handle).map { String(cString: $0) } ?? "?" }

  public func uuid() throws -> String {
    try uuidString({ virDomainGetUUIDString(handle, $0) }, "read the UUID of domain '\(name)'")
  }

  public func state() throws -> DomainState {
    var state: Int32 = 0
    var reason: Int32 = 0
    try check(virDomainGetState(handle, &state, &reason, 0), "read the state of domain '\(name)'")
    return DomainState(state)
  }

  public func xml(inactive: Bool = false) throws -> String {
    let flags = inactive ? VIR_DOMAIN_XML_INACTIVE.rawValue : 0
    return try takeString(virDomainGetXMLDesc(handle, flags), "read the XML of domain '\(name)'")
  }

  /// `<metadata>` element of the given namespace URI, or nil when the domain has none.
  public func metadata(namespace: String) throws -> String? {
    let type = Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue)
    if let pointer = virDomainGetMetadata(handle, type, namespace, 0) {
      defer { free(pointer) }
      return String(cString: pointer)
    }
    let error = LibvirtError.last("read the metadata of domain '\(name)'")
    if error.code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
    // Undefined since it was listed (another command's `destroy`): it has no metadata any more.
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  /// Sets (or with nil, removes) the `<metadata>` element of namespace `namespace`,
  /// written with prefix `key`, in the persistent definition and, when the
  /// domain runs, the live one.
  public func setMetadata(_ xml: String?, namespace: String, key: String) throws {
    let type = Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue)
    var flags = VIR_DOMAIN_AFFECT_CONFIG.rawValue
    if virDomainIsActive(handle) == 1 { flags |= VIR_DOMAIN_AFFECT_LIVE.rawValue }
    try check(
      virDomainSetMetadata(handle, type, xml, xml == nil ? nil : key, namespace, flags),
      "write the metadata of domain '\(name)'")
  }

  /// Boots a defined domain.
  public func start() throws { try check(virDomainCreate(handle), "start domain '\(name)'") }

  /// Starts the domain so that libvirt destroys it when this connection closes: a
  /// killed process leaves no guest running (its definition stays).
  public func startAutodestroyed() throws {
    try check(virDomainCreateWithFlags(handle, VIR_DOMAIN_START_AUTODESTROY.rawValue), "start domain '\(name)'")
  }

  /// Asks the guest to shut down (ACPI power button); returns at once.
  public func shutdown() throws { try check(virDomainShutdown(handle), "shut down domain '\(name)'") }

  /// Presses `codes` (Linux input key codes) together, holding them `holdMilliseconds`,
  /// then releases them: one keystroke or chord on the guest's keyboard.
  public func sendKey(_ codes: [UInt32], holdMilliseconds: UInt32 = 40) throws {
    var keys = codes.map { UInt32($0) }
    _ = try check(
      virDomainSendKey(
        handle, UInt32(VIR_KEYCODE_SET_LINUX.rawValue), holdMilliseconds, &keys, Int32(keys.count), 0),
      "send keys \(codes) to domain '\(name)'")
  }

  /// Pulls the plug. A domain that is already off (it stopped between a caller's
  /// look at its state and this call: another client's power-off, a guest's own
  /// shutdown) is what was asked for, not an error.
  public func destroy() throws {
    if virDomainDestroy(handle) == 0 { return }
    let error = LibvirtError.last("power off domain '\(name)'")
    if error.code == Int32(VIR_ERR_OPERATION_INVALID.rawValue), (try? state()) == .shutoff { return }
    throw error.caravanError
  }

  /// Removes the definition (with its managed save image, snapshot metadata, and
  /// NVRAM and TPM state where the driver knows them).
  public func undefine() throws {
    let base = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
    let state = VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_TPM.rawValue
    if virDomainUndefineFlags(handle, base | state) == 0 { return }
    let error = LibvirtError.last("undefine domain '\(name)'")
    guard error.code == Int32(VIR_ERR_INVALID_ARG.rawValue) else { throw error.caravanError }
    try check(virDomainUndefineFlags(handle, base), "undefine domain '\(name)'")
  }
}
