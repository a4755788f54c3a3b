internal import CLibvirt
import Glibc
import Support

/// An open libvirt connection. Calls block (libvirt is synchronous): callers
/// keep them off Swift's cooperative thread pool. Threads may share it (a parallel `up`).
public final class Connection: @unchecked Sendable {
  // @unchecked: `handle` never changes, and libvirt lets threads share a connection (its last error is per thread).
  let handle: virConnectPtr
  public let uri: String

  /// Opens `uri` read-write (`qemu:///system`, `qemu:///session`, `test:///default`, `qemu+ssh://…`).
  public init(uri: String) throws {
    _ = silenceLibvirtOnce
    guard let opened = virConnectOpen(uri) else {
      let error = LibvirtError.last("connect to libvirt at '\(uri)'")
      throw CaravanError(
        .hypervisor, "cannot connect to libvirt at '\(uri)': \(error.message)",
        cause: error)
    }
    handle = opened
    self.uri = uri
  }

  deinit { virConnectClose(handle) }

  /// The URI libvirt actually connected to (resolves aliases and defaults).
  public func canonicalURI() throws -> String {
    try takeString(virConnectGetURI(handle), "read the connection URI")
  }

  /// libvirt's version on the other end, as major*1_000_000 + minor*1_000 + release.
  public func libvirtVersion() throws -> UInt {
    var version: UInt = 0
    try check(virConnectGetLibVersion(handle, &version), "read libvirt's version")
    return version
  }

  /// The hypervisor's version (QEMU's, for the qemu driver), in the same form; nil
  /// when the driver reports none.
  public func hypervisorVersion() throws -> UInt? {
    var version: UInt = 0
    try check(virConnectGetVersion(handle, &version), "read the hypervisor's version")
    return version == 0 ? nil : version
  }

  public func capabilities() throws -> String {
    try takeString(virConnectGetCapabilities(handle), "read hypervisor capabilities")
  }

  /// The libvirt host's logical CPUs and memory (`virNodeGetInfo`).
  public func nodeInfo() throws -> (cpus: Int, memoryKiB: UInt64) {
    var info = virNodeInfo()
    try check(virNodeGetInfo(handle, &info), "read the host's CPUs and memory")
    return (Int(info.cpus), UInt64(info.memory))
  }

  /// Memory the host could give guests now, in KiB: free plus buffers and page
  /// cache (`virNodeGetMemoryStats`), else libvirt's free memory; nil when the
  /// driver reports neither.
  public func availableMemoryKiB() -> UInt64? {
    var count: Int32 = 0
    let allCells = Int32(VIR_NODE_MEMORY_STATS_ALL_CELLS.rawValue)
    if virNodeGetMemoryStats(handle, allCells, nil, &count, 0) == 0, count > 0 {
      var stats = [virNodeMemoryStats](repeating: virNodeMemoryStats(), count: Int(count))
      if virNodeGetMemoryStats(handle, allCells, &stats, &count, 0) == 0 {
        var values: [String: UInt64] = [:]
        for var stat in stats.prefix(Int(count)) {
          let field = withUnsafeBytes(of: &stat.field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
          values[field] = UInt64(stat.value)
        }
        if let free = values["free"] { return free + (values["buffers"] ?? 0) + (values["cached"] ?? 0) }
      }
    }
    virResetLastError()
    let bytes = virNodeGetFreeMemory(handle)
    virResetLastError()
    return bytes > 0 ? UInt64(bytes) / 1024 : nil
  }

  // MARK: Domains

  /// The domain of that name, or nil when there is none.
  public func domain(named name: String) throws -> Domain? {
    if let pointer = virDomainLookupByName(handle, name) { return Domain(pointer, connection: self) }
    let error = LibvirtError.last("look up domain '\(name)'")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func domain(uuid: String) throws -> Domain? {
    if let pointer = virDomainLookupByUUIDString(handle, uuid) { return Domain(pointer, connection: self) }
    let error = LibvirtError.last("look up domain \(uuid)")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func allDomains() throws -> [Domain] {
    var list: UnsafeMutablePointer<virDomainPtr?>?
    let count = try check(virConnectListAllDomains(handle, &list, 0), "list domains")
    defer { free(list) }
    return (0..<Int(count)).compactMap { list?[$0] }.map { Domain($0, connection: self) }
  }

  /// Defines (persistently) a domain from XML; replaces the definition of an existing one of the same name and UUID.
  public func defineDomain(xml: String, name: String) throws -> Domain {
    let pointer = try check(virDomainDefineXML(handle, xml), "define domain '\(name)'")
    return Domain(pointer, connection: self)
  }

  // MARK: Storage

  public func pool(named name: String) throws -> StoragePool? {
    if let pointer = virStoragePoolLookupByName(handle, name) { return StoragePool(pointer, connection: self) }
    let error = LibvirtError.last("look up storage pool '\(name)'")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func definePool(xml: String, name: String) throws -> StoragePool {
    let pointer = try check(virStoragePoolDefineXML(handle, xml, 0), "define storage pool '\(name)'")
    return StoragePool(pointer, connection: self)
  }

  /// The volume at that path in any pool, or nil.
  public func volume(path: String) throws -> Volume? {
    if let pointer = virStorageVolLookupByPath(handle, path) { return Volume(pointer, connection: self) }
    let error = LibvirtError.last("look up volume '\(path)'")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func newStream() throws -> Stream {
    Stream(try check(virStreamNew(handle, 0), "open a data stream"), connection: self)
  }
}
