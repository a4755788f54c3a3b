import ArgumentParser
import Boxes
import Core
import Foundation
import Host
import Support

struct BoxPush: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push",
    abstract:
      "Upload an installed box, a .box file or a cloud image to an OCI registry (oci://HOST[:PORT]/REPO:TAG).",
    discussion: """
      The box becomes an OCI artifact: its metadata.json as the config, one blob per disk image, so a \
      new version that shares a disk uploads only what changed. Credentials: CARAVAN_REGISTRY_AUTH=user:password \
      or ~/.docker/config.json; TLS against the system's CAs or CARAVAN_CA_FILE; plain HTTP only on \
      loopback or for hosts in CARAVAN_INSECURE_REGISTRIES. `caravan box add NAME oci://…` pulls it. \
      A file (a vagrant-libvirt .box, or a qcow2 or raw cloud image) is read as `box add` reads it, in \
      a scratch store that is removed after, and pushed under --name (default: the file's name without \
      its extension) and --box-version (default 0).
      """)

  @Argument(help: "The installed box, or a .box file or cloud image (a path).") var name: String
  @Argument(help: "Where to: oci://HOST[:PORT]/REPOSITORY[:TAG] (default tag: latest).") var destination: String
  @Option(name: .customLong("box-version"), help: "The version to push (default: the newest installed).")
  var version: String?
  @Option(help: "For a file: the box name the registry records (default: the file's name).")
  var boxName: String?
  @Flag(help: "Print what was pushed as JSON (the steps go to standard error).") var json = false

  func run() throws {
    let reference = try OCIReference(parsing: destination)
    let reporter = ConsoleReporter(toStandardError: json)
    // A file is installed in a scratch store first: the same checks as `box add`, the same layout.
    var scratch: String?
    defer { if let scratch { try? FileSystem.removeTree(scratch) } }
    let box: InstalledBox
    if FileManager.default.fileExists(atPath: name) {
      let folder = try FileSystem.makeTemporaryDirectory(
        prefix: "caravan-push", environment: ProcessInfo.processInfo.environment)
      scratch = folder
      let fileName = ((name as NSString).lastPathComponent as NSString).deletingPathExtension
      box = try makeInstaller(BoxStore(root: folder + "/boxes"), toStandardError: true).add(
        BoxInstaller.Request(source: FileSystem.absolute(name), name: boxName ?? fileName, version: version ?? "0"))
    } else {
      box = try BoxStore(root: CaravanPaths.boxes()).installed(name: name, version: version)
    }
    let pushed = try OCIBox.push(box, to: reference, environment: ProcessInfo.processInfo.environment) {
      reporter.step("box", $0)
    }
    if json {
      let object: [String: Any] = [
        "box": box.name, "version": box.version, "reference": reference.description, "digest": pushed.digest,
        "pinned": reference.pinned(pushed.digest).description, "uploaded": pushed.uploaded, "present": pushed.present,
      ]
      let data = try JSONSerialization.data(
        withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    print(
      "pushed box '\(box.name)' (\(box.version)) to \(reference): \(pushed.digest) (\(pushed.uploaded.count) blob\(pushed.uploaded.count == 1 ? "" : "s") uploaded, \(pushed.present.count) already there)"
    )
    print("add it elsewhere with `caravan box add \(box.name) \(reference.pinned(pushed.digest))`")
  }
}
