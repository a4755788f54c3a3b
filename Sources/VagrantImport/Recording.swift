// What the recorder wrote: the configuration tree of `Vagrant.configure`, the ENV
// reads, the host commands, the plugin checks, or the error that stopped the Vagrantfile.

/// The JSON document the recorder writes (see `RecorderScript`).
public struct Recording: Decodable, Sendable {
  public struct Failure: Decodable, Sendable {
    public var `class`: String
    public var message: String
    public var line: Int
  }

  public struct EnvRead: Decodable, Sendable {
    public var name: String
    /// `[]`, `fetch`, `key?`, …
    public var how: String
    public var value: RubyValue?
    public var `default`: RubyValue?
    public var line: Int
  }

  public struct HostCommand: Decodable, Sendable {
    public var line: Int
    public var kind: String
    public var command: String
  }

  public struct PluginCheck: Decodable, Sendable {
    public var name: String
    public var line: Int
  }

  public var error: Failure?
  public var root: ConfigNode?
  public var env: [EnvRead] = []
  public var commands: [HostCommand] = []
  public var plugins: [PluginCheck] = []

  private enum Keys: String, CodingKey { case error, root, env, commands, plugins }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Keys.self)
    error = try container.decodeIfPresent(Failure.self, forKey: .error)
    root = try container.decodeIfPresent(ConfigNode.self, forKey: .root)
    env = try container.decodeIfPresent([EnvRead].self, forKey: .env) ?? []
    commands = try container.decodeIfPresent([HostCommand].self, forKey: .commands) ?? []
    plugins = try container.decodeIfPresent([PluginCheck].self, forKey: .plugins) ?? []
  }
}

/// One configuration object (`config`, `config.vm`, a provider or provisioner block):
/// what was assigned and called on it, in order, and the objects reached from it
/// (`config.vm` is the child `vm` of `config`).
public final class ConfigNode: Decodable, Sendable {
  public let events: [ConfigEvent]
  public let children: [String: ConfigNode]

  private enum Keys: String, CodingKey { case events, children }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Keys.self)
    events = try container.decodeIfPresent([ConfigEvent].self, forKey: .events) ?? []
    children = try container.decodeIfPresent([String: ConfigNode].self, forKey: .children) ?? [:]
  }

  init(events: [ConfigEvent] = [], children: [String: ConfigNode] = [:]) {
    self.events = events
    self.children = children
  }

  /// Every setting assigned anywhere below this object (`hostmanager.enabled`), with its line.
  func assignments(prefix: String) -> [(name: String, line: Int)] {
    events.map { event in (prefix + (event.set ?? event.call ?? "?"), event.line) }
      + children.sorted { $0.key < $1.key }.flatMap { $0.value.assignments(prefix: prefix + $0.key + ".") }
  }
}

/// `NAME = VALUE` (set) or `NAME(ARGS, OPTIONS) { BLOCK }` (call) on a configuration object.
public struct ConfigEvent: Decodable, Sendable {
  public var set: String?
  public var value: RubyValue?
  public var call: String?
  public var args: RubyValue?
  public var options: RubyValue?
  public var line: Int
  /// The recording of the call's block (a provider, provisioner or trigger block).
  public var block: ConfigNode?
  /// For `define`: the machine's own configuration.
  public var machine: ConfigNode?

  /// The positional arguments of a call.
  var arguments: [RubyValue] { args?.elements ?? [] }

  /// The value of option `key` of a call (`ip:` of `network`).
  func option(_ key: String) -> RubyValue? { options?[key] }
}
