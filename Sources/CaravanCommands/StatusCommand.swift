import ArgumentParser
import Core
import Foundation
import Host

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show each machine's state, asked live from libvirt.")

  @Argument(help: "Machines to show (default: all).") var machines: [String] = []
  @Flag(help: "Print JSON.") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let lifecycle = context.lifecycle(try context.hypervisor())
    let selected = try context.machines(machines)
    // Triggers print to standard output: not with --json, whose output is for programs.
    guard !json else { return try show(try lifecycle.status(selected), uri: context.uri) }
    try lifecycle.stoppable("status", selected) {
      try lifecycle.withTriggers("status", selected, perMachine: false) {
        try show(try lifecycle.status($0), uri: context.uri)
      }
    }
  }

  func show(_ reports: [Lifecycle.MachineReport], uri: String) throws {
    if json {
      let rows = reports.map { report -> [String: Any] in
        var row: [String: Any] = ["name": report.name, "state": report.status.description, "domain": report.domain]
        if let record = report.record {
          row["ssh_port"] = record.sshPort
          row["forwards"] = record.forwards.map(\.description)
        }
        return row
      }
      let data = try JSONSerialization.data(
        withJSONObject: ["machines": rows, "uri": uri], options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    let width = max(12, (reports.map(\.name.count).max() ?? 0) + 2)
    let jump = try LibvirtURI.jump(for: uri)
    for report in reports {
      var line =
        report.name.padding(toLength: width, withPad: " ", startingAt: 0)
        + report.status.description.padding(toLength: 14, withPad: " ", startingAt: 0)
      if report.status == .running, let record = report.record {
        line += "ssh 127.0.0.1:\(record.sshPort)" + (jump.map { " via \($0.destination)" } ?? "") + "  "
      }
      line += "(\(report.domain))"
      print(line)
    }
  }
}
