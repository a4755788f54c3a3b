import ArgumentParser
import Core
import Foundation
import Host
import Spec

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show each machine's state, asked live from libvirt.")

  @Argument(help: "Machines to show (default: all).") var machines: [String] = []
  @Flag(help: "Print JSON.") var json = false
  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try Context(variables)
    let selected = try context.machines(machines)
    let engine = context.engines()
    let uris = Dictionary(selected.map { ($0.name, context.uri(of: $0)) }, uniquingKeysWith: { first, _ in first })
    // Each machine asked on its own libvirt host, in the Machinefile's order.
    let reports = { (chosen: [MachineSpec]) in try chosen.flatMap { try engine($0).status([$0]) } }
    // Triggers print to standard output: not with --json, whose output is for programs.
    guard !json else { return try show(try reports(selected), uri: context.uri, uris: uris) }
    let lifecycle = try engine(selected.first ?? MachineSpec(name: "default"))
    try lifecycle.stoppable("status", selected) {
      try lifecycle.withTriggers("status", selected, perMachine: false) {
        try show(try reports($0), uri: context.uri, uris: uris)
      }
    }
  }

  func show(_ reports: [Lifecycle.MachineReport], uri: String, uris: [String: String]) throws {
    if json {
      let rows = reports.map { report -> [String: Any] in
        var row: [String: Any] = [
          "name": report.name, "state": report.status.description, "domain": report.domain,
          "uri": uris[report.name] ?? uri,
        ]
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
    for report in reports {
      let jump = try LibvirtURI.jump(for: uris[report.name] ?? uri)
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
