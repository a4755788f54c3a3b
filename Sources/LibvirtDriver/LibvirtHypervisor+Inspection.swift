import Foundation
import Host
import Libvirt
import Support

/// What `caravan doctor` asks libvirt: versions, KVM, Caravan's storage pool.
extension LibvirtHypervisor: HypervisorInspection {
  public func versions() throws -> HypervisorVersions {
    HypervisorVersions(libvirt: try connection.libvirtVersion(), hypervisor: try connection.hypervisorVersion())
  }

  public func offersKVM() throws -> Bool {
    let capabilities = try connection.capabilities()
    return capabilities.contains("<domain type='kvm'") || capabilities.contains("<domain type=\"kvm\"")
  }

  public func storagePool(named name: String?) throws -> StoragePoolFacts {
    let boxes = BoxPool(connection: connection, name: name ?? defaultPool)
    guard let pool = try connection.pool(named: boxes.name) else {
      return .missing(name: boxes.name, path: boxes.defaultPath())
    }
    let path = LibvirtHypervisor.targetPath(inPoolXML: try pool.xml())
    guard try pool.isActive() else { return .inactive(name: boxes.name, path: path) }
    let info = try pool.info()
    return .active(name: boxes.name, path: path, capacity: info.capacity, available: info.available)
  }

  /// `<target><path>…</path>` of a pool's XML.
  static func targetPath(inPoolXML xml: String) -> String? {
    guard let target = xml.range(of: "<target>"),
      let open = xml.range(of: "<path>", range: target.upperBound..<xml.endIndex),
      let close = xml.range(of: "</path>", range: open.upperBound..<xml.endIndex)
    else { return nil }
    return String(xml[open.upperBound..<close.lowerBound])
  }
}
