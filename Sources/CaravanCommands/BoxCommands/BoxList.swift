import ArgumentParser
import Boxes
import Core
import Foundation
import Host

struct BoxList: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List installed boxes, with their saved warm states.")

  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let boxes = try BoxStore(root: CaravanPaths.boxes()).list()
    if json {
      let rows: [[String: Any]] = boxes.map { box in
        [
          "name": box.name, "version": box.version, "provider": "libvirt", "path": box.directory,
          "kind": box.metadata.image == nil ? "box" : "image",
          "image": box.metadata.image.map { image -> Any in
            [
              "format": image.format, "firmware": image.firmware.rawValue, "source": image.source,
              "index_name": image.indexName ?? NSNull(), "checksum": image.checksum,
              "checksum_url": image.checksumURL ?? NSNull(),
            ] as [String: Any]
          } ?? NSNull(),
          "warm": WarmStateFiles.all(box).map { state -> [String: Any] in
            [
              "uri": state.uri, "pool": state.pool, "volume": state.volume, "size": state.sizeBytes,
              "memory_mib": state.fingerprint.memoryMiB, "cpus": state.fingerprint.cpus,
              "created_at": state.createdAt,
            ]
          },
        ]
      }
      let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    if boxes.isEmpty {
      print("There are no installed boxes! Use `caravan box add` to add some.")
      return
    }
    let width = (boxes.map(\.name.count).max() ?? 0) + 1
    for box in boxes {
      let warm = WarmStateFiles.all(box).map { state in
        "warm state \(state.sizeBytes >> 20) MiB (\(state.fingerprint.cpus) CPU, \(state.fingerprint.memoryMiB) MiB\(state.pool == "caravan" ? "" : ", pool \(state.pool)"))"
      }
      // The kind: a .box, or a cloud image (its format as read, the firmware it boots with).
      let kind = box.metadata.image.map { "image (\($0.format), \($0.firmware.rawValue))" } ?? ".box"
      print(
        "\(box.name.padding(toLength: width, withPad: " ", startingAt: 0))(libvirt, \(box.version))  \(kind)"
          + (warm.isEmpty ? "" : "  " + warm.joined(separator: ", ")))
    }
  }
}
