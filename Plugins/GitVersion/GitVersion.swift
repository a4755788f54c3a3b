import Foundation
import PackagePlugin

/// Before each build, writes `caravanVersion` (scripts/version.sh's answer, from git) into
/// a Swift file in the plugin's work directory, so `caravan --version` says the version
/// the Debian package carries and nothing is generated in the source tree.
@main
struct GitVersion: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let output = context.pluginWorkDirectoryURL.appending(path: "Version")
    let script = context.package.directoryURL.appending(path: "scripts/write-version.sh")
    return [
      .prebuildCommand(
        displayName: "caravanVersion from git",
        executable: URL(filePath: "/bin/sh"),
        arguments: [script.path(percentEncoded: false), output.path(percentEncoded: false)],
        outputFilesDirectory: output)
    ]
  }
}
