// What a Boxfile means: one `build` of one box. Paths are absolute (resolved against the
// Boxfile's folder by lowering); URLs are kept as written.

public struct BuildSpec: Sendable, Equatable {
  public enum Strategy: String, Sendable, Equatable, CaseIterable {
    /// Boot a kernel and initrd with the rendered templates injected into the initrd.
    case installer
    /// Boot an ISO and type `boot_command`.
    case iso
    /// No installer VM: a root file system made on the host with mmdebstrap.
    case rootfs
  }

  public enum Format: String, Sendable, Equatable, CaseIterable { case v1, v2 }

  /// A file the build starts from: a host path or an http(s)/file URL, with an optional checksum.
  public struct Source: Sendable, Equatable {
    public var location: String
    public var checksum: Checksum?
    public init(location: String, checksum: Checksum? = nil) {
      self.location = location
      self.checksum = checksum
    }
    public var isURL: Bool {
      location.hasPrefix("http://") || location.hasPrefix("https://") || location.hasPrefix("file://")
    }
  }

  public struct Template: Sendable, Equatable {
    /// The template file on the host.
    public var path: String
    /// Its name in the initrd and on the HTTP server (`preseed.cfg`).
    public var name: String
    public init(path: String, name: String) {
      self.path = path
      self.name = name
    }
  }

  public struct Output: Sendable, Equatable {
    public var path: String
    public var format: Format = .v1
    public var compress: Bool = false
    public var catalog: String?
    /// Base URL of the box in the catalog entry (the file's name is appended).
    public var url: String?
    public init(path: String) { self.path = path }
  }

  public struct SSH: Sendable, Equatable {
    public var user: String = "vagrant"
    public var password: String?
    public var privateKey: String?
    public var port: Int = 22
    public init() {}
  }

  /// The Boxfile's path, and its folder (what relative paths were resolved against).
  public var file: String
  public var directory: String
  public var name: String
  public var version: String
  public var strategy: Strategy
  public var kernel: Source?
  public var initrd: Source?
  public var iso: Source?
  /// rootfs: the Debian suite, mirror and extra packages.
  public var suite: String?
  public var mirror: String?
  public var packages: [String] = []
  public var templates: [Template] = []
  public var httpDirectory: String?
  public var kernelArgs: String = ""
  public var bootCommand: [String] = []
  public var bootWaitMilliseconds: Int = 5000
  public var cpus: Int = 2
  public var memoryBytes: UInt64 = 2 << 30
  public var diskBytes: UInt64 = 8 << 30
  public var ssh = SSH()
  /// Shell and file steps, run in order after the install.
  public var postinstall: [ProvisionerSpec] = []
  public var output: Output
  public var timeoutMilliseconds: Int = 2 * 3600 * 1000
  /// The `var` values used (after `--var`, defaults and the environment), for templates.
  public var variables: [String: String] = [:]

  public init(file: String, directory: String, name: String, version: String, strategy: Strategy, output: Output) {
    self.file = file
    self.directory = directory
    self.name = name
    self.version = version
    self.strategy = strategy
    self.output = output
  }
}
