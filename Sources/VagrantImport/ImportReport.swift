// What an import left out, and what it decided (notes), each at its Vagrantfile line.

/// One line of the report: the Vagrantfile line, what it was, and why.
public struct ImportItem: Equatable, Hashable, Sendable {
  public var line: Int
  public var what: String
  public var why: String

  public init(line: Int, what: String, why: String) {
    self.line = line
    self.what = what
    self.why = why
  }

  /// `Vagrantfile:12: config.hostmanager.enabled, a setting of …`
  public func rendered(file: String) -> String { "\(file):\(line): \(what), \(why)" }
}

/// The report being collected: each item once, however many machines a loop made.
struct ImportReport: Sendable {
  private(set) var dropped: [ImportItem] = []
  private(set) var notes: [ImportItem] = []

  mutating func drop(_ line: Int, _ what: String, _ why: String) {
    let item = ImportItem(line: line, what: what, why: why)
    if !dropped.contains(item) { dropped.append(item) }
  }

  mutating func note(_ line: Int, _ what: String, _ why: String) {
    let item = ImportItem(line: line, what: what, why: why)
    if !notes.contains(item) { notes.append(item) }
  }

  mutating func merge(_ other: ImportReport) {
    for item in other.dropped { drop(item.line, item.what, item.why) }
    for item in other.notes { note(item.line, item.what, item.why) }
  }

  /// In line order (stable for items of one line).
  var sortedDropped: [ImportItem] { dropped.enumerated().sorted { ($0.1.line, $0.0) < ($1.1.line, $1.0) }.map(\.1) }
  var sortedNotes: [ImportItem] { notes.enumerated().sorted { ($0.1.line, $0.0) < ($1.1.line, $1.0) }.map(\.1) }
}

/// Why a Vagrant plugin's settings are left out, by the configuration name it adds.
enum KnownPlugins {
  static let byNamespace = [
    "hostmanager": "vagrant-hostmanager", "vbguest": "vagrant-vbguest", "cache": "vagrant-cachier",
    "proxy": "vagrant-proxyconf", "disksize": "vagrant-disksize", "env": "vagrant-env",
    "registration": "vagrant-registration", "timezone": "vagrant-timezone",
    "persistent_storage":
      "vagrant-persistent-storage", "landrush": "landrush", "hostsupdater": "vagrant-hostsupdater",
    "reload": "vagrant-reload", "winnfsd": "vagrant-winnfsd", "berkshelf": "vagrant-berkshelf",
    "omnibus": "vagrant-omnibus", "librarian_puppet": "vagrant-librarian-puppet", "dns": "vagrant-dns",
  ]

  static func why(namespace: String) -> String {
    if let plugin = byNamespace[namespace] {
      return "a setting of the Vagrant plugin \(plugin); Caravan has no plugins"
    }
    return "not a Vagrant setting Caravan knows (a plugin's?); Caravan has no plugins"
  }
}
