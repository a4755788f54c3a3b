import Foundation

/// A network namespace of the test's own with a second libvirtd in it
/// (`scripts/netns-libvirt.sh`): guests on private addresses and bridges live
/// there, never in the host's network or the host's libvirtd. `caravan` and
/// `virsh` run inside through `command(_:)`. `stop()` removes everything.
struct NetworkNamespace {
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/netns-libvirt.sh").path
  /// Namespaces and mounts need root.
  static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: script) }

  let name: String

  /// Starts the namespace and its libvirtd; a namespace of that name left by an earlier run is removed first.
  init(name: String) throws {
    self.name = name
    _ = try? Harness.exec([NetworkNamespace.script, "stop", name], in: "/", environment: NetworkNamespace.environment)
    let started = try Harness.exec(
      [NetworkNamespace.script, "start", name], in: "/", environment: NetworkNamespace.environment)
    guard started.status == 0 else {
      throw NamespaceError(description: "could not start namespace \(name): \(started)")
    }
  }

  static var environment: [String: String] { ProcessInfo.processInfo.environment }

  /// `arguments` as run inside the namespace (its network and its mounts, where
  /// qemu:///system is its libvirtd).
  func command(_ arguments: [String]) -> [String] { [NetworkNamespace.script, "exec", name] + arguments }

  func run(_ arguments: String...) throws -> Harness.Output {
    try Harness.exec(command(arguments), in: "/", environment: NetworkNamespace.environment)
  }

  func virsh(_ arguments: String...) throws -> Harness.Output {
    try Harness.exec(
      command(["virsh", "-c", "qemu:///system"] + arguments), in: "/", environment: NetworkNamespace.environment)
  }

  /// Stops the daemons, ends what runs in the namespace (guests too), removes it and its state.
  func stop() {
    _ = try? Harness.exec([NetworkNamespace.script, "stop", name], in: "/", environment: NetworkNamespace.environment)
  }
}

struct NamespaceError: Error, CustomStringConvertible {
  var description: String
}
