import Foundation
import Spec
import Support

/// A box that `box outdated` and `box update` look at, with its catalog and constraint.
public struct BoxTarget: Sendable {
  public var name: String
  /// nil: added from a file or URL, so there is no catalog to ask.
  public var catalog: String?
  public var constraint: VersionConstraint?

  /// `only`; else every installed box (`global`); else the boxes `machines` name.
  public static func resolve(
    store: BoxStore, only: String? = nil, global: Bool = false, machines: () throws -> [MachineSpec]
  ) throws -> [BoxTarget] {
    if let only { return [BoxTarget(name: only, catalog: store.catalogURL(name: only), constraint: nil)] }
    if global {
      var seen = Set<String>()
      return try store.list().map(\.name).filter { seen.insert($0).inserted }
        .map { BoxTarget(name: $0, catalog: store.catalogURL(name: $0), constraint: nil) }
    }
    var seen = Set<String>()
    return try machines().compactMap(\.box).filter { seen.insert($0.name).inserted }.map { wanted in
      let catalog = wanted.url.flatMap { $0.hasSuffix(".json") ? $0 : nil } ?? store.catalogURL(name: wanted.name)
      return BoxTarget(name: wanted.name, catalog: catalog, constraint: wanted.version)
    }
  }
}

extension BoxInstaller {
  /// The installed version of `target` and the newest one its catalog offers
  /// beyond it (nil when up to date); nil when no catalog is known.
  public func newestVersion(of target: BoxTarget) throws -> (installed: String, newer: String?)? {
    guard let catalog = target.catalog else { return nil }
    let installed = try store.list().last(where: { $0.name == target.name })?.version ?? "0"
    let newer = try self.catalog(at: catalog).newer(than: installed, constraint: target.constraint)
    return (installed, newer.first?.version)
  }

  /// Adds the newest version of `target` that its catalog offers.
  public func update(_ target: BoxTarget) throws -> InstalledBox {
    guard let catalog = target.catalog else {
      // An image is replaced by the one its source (an index name or a URL) serves now.
      if let image = try store.list().last(where: { $0.name == target.name })?.metadata.image {
        let from = image.indexName ?? image.source
        let arguments = from == target.name ? target.name : "\(target.name) \(from)"
        throw CaravanError(
          .notFound, "box '\(target.name)' is an image from \(from), which has no versions to update to",
          hint: "Fetch the image it serves now with `caravan box add \(arguments) --force`.")
      }
      throw CaravanError(
        .notFound, "box '\(target.name)' has no known catalog, so there is nothing to update from",
        hint:
          "Boxes added from a file or URL are updated by adding the new file: `caravan box add \(target.name) FILE --box-version V`."
      )
    }
    return try add(Request(source: catalog, name: target.name, version: target.constraint?.description))
  }
}
