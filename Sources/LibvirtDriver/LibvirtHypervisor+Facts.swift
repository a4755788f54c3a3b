import Core
import Foundation
import Libvirt
import Spec
import Support

/// Reading a Caravan domain back from libvirt, so a machine whose `.caravan/`
/// state is lost can be adopted: its metadata, its forwards (from the QEMU
/// arguments `up` wrote) and how far its first `up` got.
extension LibvirtHypervisor {
  static let progressNamespace = "https://caravan.dev/xmlns/progress/1"

  public func facts(domain: String) throws -> DomainFacts? {
    guard let found = try connection.domain(named: domain), let meta = try metadata(of: found) else { return nil }
    let xml = try found.xml(inactive: true)
    return DomainFacts(
      uuid: try found.uuid(), projectRoot: meta.project, machineName: meta.machine, boxName: meta.box,
      boxVersion: meta.boxVersion, forwards: LibvirtHypervisor.forwards(inDomainXML: xml),
      accelerator: xml.contains("<domain type='kvm'") || xml.contains("<domain type=\"kvm\"") ? .kvm : .tcg,
      progress: try found.metadata(namespace: LibvirtHypervisor.progressNamespace).flatMap(LibvirtHypervisor.progress))
  }

  public func displays(domain: String) throws -> [Display] {
    guard let found = try connection.domain(named: domain), try found.state() != .shutoff else { return [] }
    return LibvirtHypervisor.displays(inDomainXML: try found.xml())
  }

  /// The `<graphics>` of a live domain's XML with the ports libvirt gave them
  /// (`port='-1'` until it has one: left out).
  static func displays(inDomainXML xml: String) -> [Display] {
    MetadataReader.openTags(xml, "graphics").compactMap { tag in
      guard let type = MetadataReader.attribute(in: tag, "type"),
        let port = MetadataReader.attribute(in: tag, "port").flatMap(Int.init), port > 0
      else { return nil }
      return Display(type: type, hostIP: MetadataReader.attribute(in: tag, "listen") ?? "127.0.0.1", port: port)
    }
  }

  public func diskExists(domain: String) throws -> Bool {
    let found = try connection.domain(named: domain)
    let poolName = try found.flatMap { try metadata(of: $0)?.pool } ?? defaultPool ?? BoxPool.defaultName
    guard let pool = try connection.pool(named: poolName) else { return false }
    if try !pool.isActive() { try pool.start() }
    if try pool.volume(named: LibvirtHypervisor.overlayName(domain)) != nil { return true }
    // A disk libvirt did not make shows after a refresh; libvirt refuses one while another
    // command uploads into the pool (a box import): then what it knows is the answer.
    try? pool.refresh()
    return try pool.volume(named: LibvirtHypervisor.overlayName(domain)) != nil
  }

  public func recordProgress(_ progress: MachineProgress, domain: String) throws {
    guard let found = try connection.domain(named: domain) else { return }
    let names = progress.provisioned.map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0 }
    let xml = XMLElement(
      "progress",
      [
        ("key-replaced", String(progress.keyReplaced)), ("up-completed", String(progress.firstUp == .finished)),
        ("provisioned", names.joined(separator: ",")),
      ] + (progress.firstUp == .identityPending ? [("identity-pending", "true")] : [])
    ).render()
    try found.setMetadata(xml, namespace: LibvirtHypervisor.progressNamespace, key: "caravan")
  }

  static func progress(_ xml: String) -> MachineProgress? {
    guard let replaced = MetadataReader.attribute(xml, "progress", "key-replaced"),
      let completed = MetadataReader.attribute(xml, "progress", "up-completed")
    else { return nil }
    let names = (MetadataReader.attribute(xml, "progress", "provisioned") ?? "").split(separator: ",")
      .map { $0.removingPercentEncoding ?? String($0) }
    let identityPending = MetadataReader.attribute(xml, "progress", "identity-pending") == "true"
    let firstUp: FirstUp =
      completed == "true" ? .finished : identityPending ? .identityPending : .unfinished
    return MachineProgress(keyReplaced: replaced == "true", provisioned: names, firstUp: firstUp)
  }

  /// The `hostfwd=` rules of the `-netdev user,…` argument, in order.
  static func forwards(inDomainXML xml: String) -> [ResolvedForward] {
    guard let netdev = xml.range(of: "user,id=caravan0") else { return [] }
    let rest = xml[netdev.lowerBound...]
    let value = rest.prefix { $0 != "'" && $0 != "\"" }
    return value.split(separator: ",").compactMap { part -> ResolvedForward? in
      guard part.hasPrefix("hostfwd=") else { return nil }
      // hostfwd=tcp:127.0.0.1:2222-:22
      let rule = part.dropFirst("hostfwd=".count)
      let sides = rule.split(separator: "-", maxSplits: 1)
      guard sides.count == 2, let guest = Int(sides[1].split(separator: ":").last ?? "") else { return nil }
      let host = sides[0].split(separator: ":", omittingEmptySubsequences: false)
      guard host.count >= 3, let transport = TransportProtocol(rawValue: String(host[0])),
        let port = Int(host[host.count - 1])
      else { return nil }
      let ip = host[1..<(host.count - 1)].joined(separator: ":")
      return ResolvedForward(transport: transport, hostIP: ip, host: port, guest: guest)
    }
  }
}
