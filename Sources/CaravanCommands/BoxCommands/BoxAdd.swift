import ArgumentParser
import Boxes
import Foundation
import Host
import Spec
import Support

struct BoxAdd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Add a box from a catalog, a URL or a .box file.",
    discussion: """
      caravan box add NAME FILE|URL        a vagrant-libvirt .box (tar or tar.gz) under NAME
      caravan box add CATALOG_URL|FILE     a Vagrant box catalog (JSON): the newest version that fits
      caravan box add OWNER/NAME           the catalog at $CARAVAN_SERVER_URL/OWNER/NAME
      Downloads follow redirects, honour http_proxy/https_proxy/no_proxy, send CARAVAN_CLOUD_TOKEN as a \
      bearer token (only to $CARAVAN_SERVER_URL's scheme, host and port), resume a cut connection, and are \
      checked against the catalog's checksum or --checksum.
      """)

  @Argument(help: "A box name, a catalog or box URL, or a file.") var first: String
  @Argument(help: "The box file or URL, when the first argument is its name.") var second: String?
  @Option(help: "The name to install the box under.") var name: String?
  @Option(
    name: .customLong("box-version"),
    help: "For a catalog: a constraint like '~> 12.0'. For a box file or URL: the version to record (default 0).")
  var version: String?
  @Option(help: "Expected checksum, TYPE:HEX (md5, sha1, sha256, sha384, sha512).") var checksum: String?
  @Flag(
    help:
      "Replace the box version if it is installed: new machines get the new image, machines made before keep theirs.")
  var force = false

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    let source = second ?? first
    let boxName = second == nil ? name : (name ?? first)
    let resolved = BoxInstallerSource.resolve(source)
    let box = try makeInstaller(store).add(
      BoxInstaller.Request(
        source: resolved, name: boxName, version: version,
        checksum: try checksum.map { try Checksum(parsing: $0) }, force: force))
    print("box '\(box.name)' (version \(box.version), libvirt) added")
    if force { replacedImageNote(box) }
  }

  /// After a replacement: the earlier image's volumes that no machine uses go
  /// now; the machines on it keep it, and are named. Only when libvirt answers.
  func replacedImageNote(_ box: InstalledBox) {
    guard let hypervisor = try? boxHypervisor(),
      let kept = try? hypervisor.removeEarlierImages(box, progress: { print($0) }), !kept.isEmpty
    else { return }
    print(
      "\(kept.joined(separator: ", ")) keeps the earlier image of box '\(box.name)' (\(box.version)); new machines get the new one (`caravan destroy` and `caravan up` a machine to move it to the new image)"
    )
  }
}

enum BoxInstallerSource {
  /// A relative path that exists is made absolute; URLs and names stay as they are.
  static func resolve(_ source: String) -> String {
    FileManager.default.fileExists(atPath: source) ? FileSystem.absolute(source) : source
  }
}
