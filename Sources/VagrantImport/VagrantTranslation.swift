// From a recording to the Machinefile's text and the report: the top-level `config`,
// the machines (merged, folded into `count:` blocks), the variables, where each setting
// goes, each setting checked by Caravan's validator, then the whole file.

import Foundation
import Machinefile
import Support

/// What `caravan init --from Vagrantfile` makes of a Vagrantfile.
public struct ImportResult: Sendable {
  /// The Machinefile, with what was left out and the notes as comments at its top.
  public var machinefile: String
  /// What the Machinefile does not do that the Vagrantfile did, by line.
  public var dropped: [ImportItem]
  /// Decisions worth knowing (machines folded into `count:`, ignored provider blocks).
  public var notes: [ImportItem]
  /// The machines the Machinefile defines.
  public var machines: [String]
  /// Whether everything was translated (exit 0, else 2).
  public var complete: Bool { dropped.isEmpty }
}

public enum VagrantTranslation {
  /// The recorder's JSON document as a Machinefile; `fileName` names the Vagrantfile in
  /// the report. `environment` is what `${HOME}` and the like read when checking it.
  public static func translate(recordingJSON: Data, fileName: String, environment: [String: String]) throws
    -> ImportResult
  {
    let recording: Recording
    do {
      recording = try JSONDecoder().decode(Recording.self, from: recordingJSON)
    } catch {
      throw CaravanError(
        .internalError, "cannot read what the Vagrantfile recorder wrote: \(error)",
        hint: "This is a bug of `caravan init --from`; please report it with the Vagrantfile.", cause: error)
    }
    return try translate(recording, fileName: fileName, environment: environment)
  }

  static func translate(_ recording: Recording, fileName: String, environment: [String: String]) throws
    -> ImportResult
  {
    if let failure = recording.error { throw evaluationError(failure, fileName: fileName) }
    guard let root = recording.root else {
      throw CaravanError(
        .invalidInput, "\(fileName) never calls Vagrant.configure, so it configures no machine",
        hint: "Name a Vagrantfile that does (`caravan init --from Vagrantfile PATH`); nothing was written.")
    }
    var report = ImportReport()
    var reader = ScopeReader(topLevel: true)
    reader.read(root)
    report.merge(reader.report)
    for command in recording.commands {
      report.drop(
        command.line, "host command `\(command.command)`",
        "it ran as the Vagrantfile was read (as vagrant runs it); the Machinefile has what it gave")
    }
    for plugin in recording.plugins {
      report.drop(
        plugin.line, "Vagrant.has_plugin?(\"\(plugin.name)\")",
        "Caravan has no Vagrant plugins: it answered false, and the Machinefile has what the Vagrantfile does then")
    }
    let drafts = MachineDrafts.make(topLevel: reader.settings, defines: reader.defines, report: &report)
    var variables = EnvironmentVariables(reads: recording.env, report: &report)
    var layout = MachinefileLayout()
    if reader.defines.isEmpty {
      layout.topLevel = drafts.first?.settings ?? []
      variables.substitute(in: &layout.topLevel)
    } else {
      // Folded first: consecutive addresses are compared as written, then may read a variable.
      layout.groups = MachineFolding.fold(drafts)
      for index in layout.groups.indices {
        variables.substitute(in: &layout.groups[index].settings)
        if let count = layout.groups[index].count { layout.groups[index].countValue = variables.count(count.count) }
      }
      MachineRenames.apply(to: &layout.groups, report: &report)
      layout.hoistCommonSettings()
    }
    layout.variables = variables.declarations(report: &report)
    SettingChecks.dropRefused(in: &layout, environment: environment, report: &report)
    let text = layout.rendered(header: header(report, fileName: fileName))
    let machines = try validated(text, fileName: fileName, environment: environment)
    return ImportResult(
      machinefile: text, dropped: report.sortedDropped, notes: report.sortedNotes, machines: machines)
  }

  /// The error for a Vagrantfile that raised: Ruby's message, at its line.
  static func evaluationError(_ failure: Recording.Failure, fileName: String) -> CaravanError {
    var message = failure.message
    // A syntax error's message starts with the file's path and line, said already.
    if let range = message.range(of: #"^\S*:\d+: "#, options: .regularExpression) { message.removeSubrange(range) }
    let place = failure.line > 0 ? "\(fileName):\(failure.line)" : fileName
    return CaravanError(
      .invalidInput, "\(place): evaluating the Vagrantfile raised \(failure.class): \(message)",
      hint: "Fix the Vagrantfile so that `ruby` can evaluate it (as vagrant would); nothing was written.")
  }

  static func header(_ report: ImportReport, fileName: String) -> [String] {
    var lines = ["Machinefile written by `caravan init --from Vagrantfile` from \(fileName)."]
    let dropped = report.sortedDropped
    if !dropped.isEmpty {
      lines += ["Left out (\(fileName):LINE: what, why):"] + dropped.map { $0.rendered(file: fileName) }
    }
    let notes = report.sortedNotes
    if !notes.isEmpty {
      lines += ["Notes:"] + notes.map { $0.rendered(file: fileName) }
    }
    return lines + [""]
  }

  /// The machines of `text`, which must pass Caravan's validator: one that does not is a bug of the translation.
  static func validated(_ text: String, fileName: String, environment: [String: String]) throws -> [String] {
    let (spec, diagnostics) = Machinefile.check(source: text, fileName: "Machinefile", environment: environment)
    let errors = diagnostics.filter { $0.severity == .error }
    guard let spec, errors.isEmpty else {
      throw CaravanError(
        .internalError,
        "the Machinefile made from \(fileName) does not pass Caravan's validator:\n"
          + errors.map(\.rendered).joined(separator: "\n"),
        hint: "This is a bug of `caravan init --from`; please report it with the Vagrantfile. Nothing was written.")
    }
    return spec.machines.map(\.name)
  }
}

/// Each setting on its own through Caravan's validator, in its place (its machine's
/// block, with the variables): one it refuses is left out, with the validator's words.
enum SettingChecks {
  static func dropRefused(in layout: inout MachinefileLayout, environment: [String: String], report: inout ImportReport)
  {
    let prelude = "version 1\n" + layout.variables.map { Render.statement($0, indent: "") }.joined()
    let topUser = layout.topLevel.filter { $0.name == "ssh.user" }
    layout.topLevel = kept(layout.topLevel, report: &report, environment: environment) { setting in
      prelude + MachinefileLayout.statements(topUser.filter { $0 != setting } + [setting], indent: "")
    }
    for index in layout.groups.indices {
      let group = layout.groups[index]
      let user = group.settings.filter { $0.name == "ssh.user" }
      let context = user.isEmpty ? topUser : user
      layout.groups[index].settings = kept(group.settings, report: &report, environment: environment) { setting in
        let body = MachinefileLayout.statements(context.filter { $0 != setting } + [setting], indent: "  ")
        return prelude + MachinefileLayout.head(of: group) + " {\n" + body + "}\n"
      }
    }
  }

  private static func kept(
    _ settings: [Setting], report: inout ImportReport, environment: [String: String], source: (Setting) -> String
  ) -> [Setting] {
    var kept: [Setting] = []
    for setting in settings {
      let (_, diagnostics) = Machinefile.check(
        source: source(setting), fileName: "Machinefile", environment: environment)
      let errors = diagnostics.filter { $0.severity == .error }.map(\.message)
      if errors.isEmpty {
        kept.append(setting)
      } else {
        let statement =
          Render.statement(setting, indent: "").split(separator: "\n").last.map(String.init) ?? setting.name
        report.drop(setting.line, statement, "Caravan's validator refuses it: " + errors.joined(separator: "; "))
      }
    }
    return kept
  }
}
