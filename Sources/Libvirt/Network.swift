internal import CLibvirt
import Glibc
import Support

/// A libvirt virtual network (a bridge on the libvirt host, with its addresses and DHCP).
public final class Network {
  let handle: virNetworkPtr
  public let connection: Connection

  init(_ handle: virNetworkPtr, connection: Connection) {
    self.handle = handle
    self.connection = connection
  }

  deinit { virNetworkFree(handle) }

  public var name: String { virNetworkGetName(handle).map { String(cString: $0) } ?? "?" }

  public func isActive() throws -> Bool {
    try check(virNetworkIsActive(handle), "read the state of network '\(name)'") == 1
  }

  public func start() throws { try check(virNetworkCreate(handle), "start network '\(name)'") }
  public func destroy() throws { try check(virNetworkDestroy(handle), "stop network '\(name)'") }
  public func undefine() throws { try check(virNetworkUndefine(handle), "undefine network '\(name)'") }

  /// Whether libvirt starts the network when it starts (after a host reboot).
  public func setAutostart(_ on: Bool) throws {
    try check(virNetworkSetAutostart(handle, on ? 1 : 0), "set autostart of network '\(name)'")
  }

  /// The network's definition as libvirt has it (with the bridge name it chose).
  public func xml() throws -> String {
    try takeString(virNetworkGetXMLDesc(handle, 0), "read the XML of network '\(name)'")
  }
}

extension Connection {
  public func network(named name: String) throws -> Network? {
    if let pointer = virNetworkLookupByName(handle, name) { return Network(pointer, connection: self) }
    let error = LibvirtError.last("look up network '\(name)'")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func defineNetwork(xml: String, name: String) throws -> Network {
    let pointer = try check(virNetworkDefineXML(handle, xml), "define network '\(name)'")
    return Network(pointer, connection: self)
  }

  /// Every network of the connection, active or not.
  public func allNetworks() throws -> [Network] {
    var list: UnsafeMutablePointer<virNetworkPtr?>?
    let count = try check(virConnectListAllNetworks(handle, &list, 0), "list networks")
    defer { free(list) }
    return (0..<Int(count)).compactMap { list?[$0] }.map { Network($0, connection: self) }
  }
}
