import Foundation
import Host
import Spec
import Support

/// How Caravan reaches a running guest (SSH today). Every method blocks.
public protocol Communicator: AnyObject {
  /// One quick attempt to log in and run `true`; the reason when it failed.
  func probe() -> (ready: Bool, detail: String)
  /// Runs a shell command in the guest; output lines are handed over as they come.
  func execute(_ command: String, output: (Subprocess.Stream, String) -> Void) throws -> Int32
  /// Runs a shell command in the guest with `input` as its standard input.
  func execute(_ command: String, input: Data?, output: (Subprocess.Stream, String) -> Void) throws -> Int32
  /// Writes `data` to `remotePath` in the guest (as the login user).
  func upload(_ data: Data, to remotePath: String) throws
  /// Copies a host file into the guest.
  func upload(file: String, to remotePath: String) throws
  /// Replaces the login key(s) with the private key at `path`, verifying the new
  /// key works before the old ones are removed from the guest.
  func replaceKey(withPrivateKeyAt path: String) throws
  /// Ends the shared connection, if any.
  func close()
  /// The remote shell other tools (rsync `-e`) reach the guest through, on the
  /// same (shared) connection; nil when there is none.
  var remoteShell: RemoteShell? { get }
  /// How a host program that speaks SSH itself (ansible-playbook) reaches the same
  /// guest: the endpoint with its key and shared-connection socket; nil when this
  /// communicator is not SSH.
  var sshEndpoint: SSHEndpoint? { get }
}

/// A program and its options that log in to the guest, as rsync's `-e` wants it:
/// `arguments` (the ssh command and its options) and `destination` (`user@host`).
public struct RemoteShell: Sendable, Equatable {
  public var arguments: [String]
  public var destination: String
  public init(arguments: [String], destination: String) {
    self.arguments = arguments
    self.destination = destination
  }
}

extension Communicator {
  public var remoteShell: RemoteShell? { nil }
  public var sshEndpoint: SSHEndpoint? { nil }

  /// Runs and fails with a clear error on a non-zero exit.
  public func run(_ command: String, what: String) throws -> String {
    var collected = ""
    let status = try execute(command) { _, line in collected += line + "\n" }
    guard status == 0 else {
      throw CaravanError(
        .guest,
        "\(what) failed in the guest (exit status \(status)): \(collected.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    return collected
  }
}

/// Connection facts for one machine's SSH.
public struct SSHEndpoint: Sendable, Equatable {
  public var host: String
  public var port: Int
  public var user: String
  /// Keys to offer, in order.
  public var identityFiles: [String]
  public var extraArgs: [String]
  public var forwardAgent: Bool
  /// Control socket for the shared connection; nil: no sharing.
  public var controlPath: String?
  /// A password to log in with after the keys, for build VMs whose template creates
  /// only a password user (a Boxfile's `ssh { password }`); nil: keys only.
  public var password: String?
  /// The host SSH goes through to reach `host:port` (a remote libvirt's host,
  /// on whose loopback the guest's SSH is forwarded); nil: straight there.
  public var jump: SSHJump?

  public init(
    host: String = "127.0.0.1", port: Int, user: String, identityFiles: [String],
    extraArgs: [String] = [], forwardAgent: Bool = false, controlPath: String? = nil, password: String? = nil,
    jump: SSHJump? = nil
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.identityFiles = identityFiles
    self.extraArgs = extraArgs
    self.forwardAgent = forwardAgent
    self.controlPath = controlPath
    self.password = password
    self.jump = jump
  }
}

/// Makes communicators; the SSH module provides the real one. Shared by the workers of a parallel `up`.
public protocol CommunicatorFactory: Sendable {
  func communicator(for endpoint: SSHEndpoint) -> Communicator
  /// The box's well-known insecure private keys, as files to offer on first login.
  func insecureKeyFiles() throws -> [String]
  /// The public half of the insecure ed25519 key, an `authorized_keys` line: what a
  /// warm state's template guest of an image box authorizes (its copies replace it).
  func insecurePublicKey() -> String
  /// Writes a new ed25519 key pair at `path` (and `path.pub`).
  func generateKey(at path: String, comment: String) throws
  /// Writes a new SSH host key pair of `type` (rsa, ecdsa, ed25519) at `path`
  /// (and `path.pub`), for a restored guest that must not keep its template's.
  func generateHostKey(type: String, at path: String) throws
}

/// Runs provisioners; the Provisioning module provides the real one. Shared by the workers of a parallel `up`.
public protocol ProvisionerRunner: Sendable {
  /// The provisioner types it runs.
  var support: SettingSupport { get }
  /// `running` lists the project's running machines, for a provisioner that reaches them all.
  func run(
    _ provisioner: ProvisionerSpec, machine: MachineSpec, projectRoot: String, running: RunningMachines,
    on communicator: Communicator, reporter: Reporter) throws
  /// Runs a trigger: its host command (`run:`) in the project folder, then its guest
  /// command (`run_remote:`) through `communicator`, nil when the machine is not running.
  func runTrigger(
    _ trigger: TriggerSpec, machine: MachineSpec, projectRoot: String, on communicator: Communicator?,
    reporter: Reporter) throws
}

/// A running machine of the project and how SSH reaches it (127.0.0.1, its forwarded port,
/// its user and keys, the jump to a remote libvirt's host).
public struct RunningMachine: Sendable, Equatable {
  public var name: String
  public var endpoint: SSHEndpoint
  public init(name: String, endpoint: SSHEndpoint) {
    self.name = name
    self.endpoint = endpoint
  }
}

/// The project's running machines in Machinefile order, found only when a provisioner asks
/// (ansible's inventory lists them all; the other provisioners never pay for the queries).
public struct RunningMachines: Sendable {
  private let find: @Sendable () throws -> [RunningMachine]
  public init(_ find: @escaping @Sendable () throws -> [RunningMachine]) { self.find = find }
  /// A list known beforehand (tests).
  public static func fixed(_ machines: [RunningMachine]) -> RunningMachines { RunningMachines { machines } }
  public func list() throws -> [RunningMachine] { try find() }
}
