import ArgumentParser
import Boxes
import Foundation
import Host
import Spec
import Support

struct BoxAdd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Add a box from a catalog, a URL, a .box file, a cloud image or an OCI registry (oci://…).",
    discussion: """
      caravan box add NAME FILE|URL        a vagrant-libvirt .box, or a plain qcow2/raw cloud image, under NAME
      caravan box add CATALOG_URL|FILE     a Vagrant box catalog (JSON): the newest version that fits
      caravan box add debian/12            a distribution's cloud image from the image index (--list-images)
      caravan box add OWNER/NAME           the catalog at $CARAVAN_SERVER_URL/OWNER/NAME
      What a file or download is shows in its first bytes, not its name. Downloads follow redirects, honour \
      http_proxy/https_proxy/no_proxy, send CARAVAN_CLOUD_TOKEN as a bearer token (only to \
      $CARAVAN_SERVER_URL's scheme, host and port), resume a cut connection, and are checked against the \
      catalog's checksum, --checksum, or the image's line in --checksum-url (an index image's checksum file \
      by default). CARAVAN_IMAGE_INDEX=FILE|URL replaces the image index Caravan ships.
      """)

  @Argument(help: "A box or image index name, a catalog, box or image URL, or a file.") var first: String?
  @Argument(help: "The box file, URL or oci://HOST/REPO:TAG, when the first argument is its name.") var second: String?
  @Option(help: "The name to install the box under.") var name: String?
  @Option(
    name: .customLong("box-version"),
    help: "For a catalog: a constraint like '~> 12.0'. For a box file or URL: the version to record (default 0).")
  var version: String?
  @Option(help: "Expected checksum, TYPE:HEX (md5, sha1, sha256, sha384, sha512).") var checksum: String?
  @Option(
    name: .customLong("checksum-url"),
    help:
      "A SHA256SUMS/SHA512SUMS (or BSD-format CHECKSUM) file, URL or path, whose line for the image's file name is checked."
  )
  var checksumURL: String?
  @Flag(name: .customLong("list-images"), help: "Print the image index (name, architecture, firmware, URL) and exit.")
  var listImages = false
  @Flag(
    help:
      "Replace the box version if it is installed: new machines get the new image, machines made before keep theirs.")
  var force = false

  func validate() throws {
    if listImages {
      guard first == nil else {
        throw ValidationError("--list-images takes no box; run `caravan box add --list-images`.")
      }
    } else if first == nil {
      throw ValidationError("Missing the box: give a .box file, an image, a URL or a name like debian/12.")
    }
    if checksum != nil && checksumURL != nil {
      throw ValidationError(
        "--checksum and --checksum-url both give the checksum; keep --checksum TYPE:HEX or the checksum file's URL.")
    }
  }

  func run() throws {
    let store = BoxStore(root: CaravanPaths.boxes())
    if listImages { return try printImages(makeInstaller(store).imageIndex()) }
    guard let first else { return }
    let source = second ?? first
    let boxName = second == nil ? name : (name ?? first)
    let resolved = BoxInstallerSource.resolve(source)
    let box = try makeInstaller(store).add(
      BoxInstaller.Request(
        source: resolved, name: boxName, version: version,
        checksum: try checksum.map { try Checksum(parsing: $0) },
        checksumURL: checksumURL.map(BoxInstallerSource.resolve), force: force))
    let kind = box.metadata.image.map { "\($0.format) image" } ?? "libvirt"
    print("box '\(box.name)' (version \(box.version), \(kind)) added")
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

/// `--list-images`: one line per image, in the index's order.
func printImages(_ index: ImageIndex) {
  let nameWidth = (index.entries.map(\.name.count).max() ?? 0) + 2
  let archWidth = max((index.entries.map(\.arch.count).max() ?? 0) + 2, 6)
  func column(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
  print(column("NAME", nameWidth) + column("ARCH", archWidth) + column("FIRMWARE", 10) + "URL")
  for entry in index.entries {
    print(
      column(entry.name, nameWidth) + column(entry.arch, archWidth) + column(entry.firmware.rawValue, 10) + entry.url)
  }
}

enum BoxInstallerSource {
  /// A relative path that exists is made absolute; URLs and names stay as they are.
  static func resolve(_ source: String) -> String {
    FileManager.default.fileExists(atPath: source) ? FileSystem.absolute(source) : source
  }
}
