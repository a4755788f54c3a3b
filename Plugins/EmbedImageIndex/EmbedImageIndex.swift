import Foundation
import PackagePlugin

/// Embeds the image index (Sources/Boxes/Resources/images.json, the repository's one
/// copy) in the Boxes module as a Swift string, so the binary needs no resource
/// bundle beside it. Runs when the JSON or the script changes.
@main
struct EmbedImageIndex: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let json = context.package.directoryURL.appending(path: "Sources/Boxes/Resources/images.json")
    let script = context.package.directoryURL.appending(path: "scripts/embed-image-index.sh")
    let output = context.pluginWorkDirectoryURL.appending(path: "ShippedImageIndex.swift")
    return [
      .buildCommand(
        displayName: "embedding the image index",
        executable: URL(filePath: "/bin/sh"),
        arguments: [
          script.path(percentEncoded: false), json.path(percentEncoded: false), output.path(percentEncoded: false),
        ],
        inputFiles: [json, script],
        outputFiles: [output])
    ]
  }
}
