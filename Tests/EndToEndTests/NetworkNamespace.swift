import Foundation

/// A network namespace of the test's own with a second libvirtd in it
/// (`scripts/netns-libvirt.sh`): guests on private addresses and bridges live
/// there, never in the host's network or the host's libvirtd. `caravan` and
/// `virsh` run inside through `command(_:)`. With `ssh`, an sshd inside stands
/// for a remote virtualisation host at `address` (`qemu+ssh://root@ADDRESS/system`),
/// and `client(_:)` runs commands in the main namespace with a home folder that
/// holds the key to it. `stop()` removes everything.
struct NetworkNamespace {
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/netns-libvirt.sh").path
  /// Namespaces and mounts need root.
  static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: script) }

  let name: String
  /// The sshd's address, reached from the main namespace (with `ssh`).
  let address: String?

  /// Starts the namespace and its libvirtd (and an sshd, with `ssh`); a
  /// namespace of that name left by an earlier run is removed first.
  init(name: String, ssh: Bool = false) throws {
    self.name = name
    _ = try? Harness.exec([NetworkNamespace.script, "stop", name], in: "/", environment: NetworkNamespace.environment)
    let started = try Harness.exec(
      [NetworkNamespace.script, "start", name] + (ssh ? ["--ssh"] : []), in: "/",
      environment: NetworkNamespace.environment)
    guard started.status == 0 else {
      throw NamespaceError(description: "could not start namespace \(name): \(started)")
    }
    guard ssh else {
      address = nil
      return
    }
    let state = (NetworkNamespace.environment["CARAVAN_NETNS_STATE"] ?? "/var/tmp/caravan-netns") + "/" + name
    let env = (try? String(contentsOfFile: state + "/env", encoding: .utf8)) ?? ""
    guard let address = env.split(separator: "\n").first(where: { $0.hasPrefix("ADDR=") })?.dropFirst(5) else {
      _ = try? Harness.exec(
        [NetworkNamespace.script, "stop", name], in: "/", environment: NetworkNamespace.environment)
      throw NamespaceError(description: "namespace \(name) has no ADDR in \(state)/env: \(started)")
    }
    self.address = String(address)
  }

  static var environment: [String: String] { ProcessInfo.processInfo.environment }

  /// `arguments` as run inside the namespace (its network and its mounts, where
  /// qemu:///system is its libvirtd).
  func command(_ arguments: [String]) -> [String] { [NetworkNamespace.script, "exec", name] + arguments }

  /// `arguments` as run in the main namespace by a user whose ~/.ssh reaches the namespace's sshd.
  func client(_ arguments: [String]) -> [String] { [NetworkNamespace.script, "client", name] + arguments }

  func run(_ arguments: String...) throws -> Harness.Output {
    try Harness.exec(command(arguments), in: "/", environment: NetworkNamespace.environment)
  }

  func virsh(_ arguments: String...) throws -> Harness.Output { try virsh(arguments) }

  func virsh(_ arguments: [String]) throws -> Harness.Output {
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
