import ArgumentParser
import Boxes
import Foundation
import Host
import LibvirtDriver
import Machinefile
import Spec

struct DoctorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "doctor",
    abstract: "Check this host for what Caravan needs: libvirt, the pool, KVM, versions, SSH, disk, tools.",
    discussion: """
      Each check says ok, warning or error, and the fix. Exit status 0 when nothing is an error \
      (warnings allowed), 1 otherwise. In a project, the Machinefile's `libvirt { uri pool }` are used.
      """)

  @Flag(help: "Print one JSON document with every check (id, status, summary, fix).") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let home = CaravanPaths.home(environment: environment)
    var checks: [HealthCheck] = []
    let project = DoctorCommand.project(environment: environment, variables: variables.input)
    if let machinefile = project.check { checks.append(machinefile) }
    let configured = project.spec?.machines.first?.libvirt.uri.flatMap { $0.isEmpty ? nil : $0 }
    let uri = defaultLibvirtURI(configured: configured, environment: environment)
    let source =
      configured != nil
      ? "from the Machinefile's `libvirt { uri }`"
      : environment["CARAVAN_LIBVIRT_URI"].map { !$0.isEmpty } == true
        ? "from CARAVAN_LIBVIRT_URI" : "Caravan's default for \(getuid() == 0 ? "root" : "a normal user")"
    var doctor = Doctor(
      uri: uri, uriSource: source, pool: project.spec?.machines.first?.libvirt.pool, home: home,
      boxes: BoxStore(root: CaravanPaths.boxes(environment: environment)), environment: environment,
      host: LocalHost(environment: environment),
      connect: { try LibvirtHypervisor(uri: $0, lockDirectory: home + "/locks") })
    doctor.nestedMachines = project.spec?.machines.filter(\.libvirt.nested).map(\.name) ?? []
    checks += doctor.run()
    if json {
      try DoctorCommand.printJSON(checks, uri: uri)
    } else {
      DoctorCommand.printText(checks, uri: uri, source: source)
    }
    if checks.contains(where: { $0.status == .error }) { throw ExitCode(1) }
  }

  /// The Machinefile found from here up, if any: its spec, and a check saying
  /// which one is used (an error when it is invalid).
  static func project(environment: [String: String], variables: VariableInput) -> (
    spec: ProjectSpec?, check: HealthCheck?
  ) {
    let cwd = FileManager.default.currentDirectoryPath
    guard let path = Machinefile.find(from: cwd, environment: environment) else { return (nil, nil) }
    let shown = Machinefile.displayName(of: path, from: cwd)
    do {
      let spec = try Machinefile.load(path: path, shownAs: shown, environment: environment, variables: variables)
      return (spec, HealthCheck("machinefile", .ok, "Machinefile \(path) (its `libvirt { … }` settings are used)"))
    } catch {
      let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
      return (
        nil,
        HealthCheck(
          "machinefile", .error, "the Machinefile \(path) is invalid: \(first)",
          fix: "`caravan validate` lists every problem; until it is fixed, doctor checks the default URI.")
      )
    }
  }

  static func printText(_ checks: [HealthCheck], uri: String, source: String) {
    print("caravan doctor: libvirt URI '\(uri)' (\(source))")
    let idWidth = (checks.map(\.id.count).max() ?? 0) + 2
    for check in checks {
      let status = check.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
      print(status + check.id.padding(toLength: idWidth, withPad: " ", startingAt: 0) + check.summary)
      if let fix = check.fix, check.status != .ok {
        print(String(repeating: " ", count: 9 + idWidth) + "fix: " + fix)
      }
    }
    let errors = checks.filter { $0.status == .error }.count
    let warnings = checks.filter { $0.status == .warning }.count
    print(
      "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        + (errors == 0 ? ": Caravan can run here." : ": fix the errors above first."))
  }

  static func printJSON(_ checks: [HealthCheck], uri: String) throws {
    let rows = checks.map { check -> [String: Any] in
      var row: [String: Any] = ["id": check.id, "status": check.status.rawValue, "summary": check.summary]
      row["fix"] = check.fix ?? NSNull()
      return row
    }
    let object: [String: Any] = [
      "uri": uri, "checks": rows, "ok": !checks.contains { $0.status == .error },
      "errors": checks.filter { $0.status == .error }.count,
      "warnings": checks.filter { $0.status == .warning }.count,
    ]
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
  }
}
