import ArgumentParser

/// Flags shared by the commands that change machines.
struct LockOptions: ParsableArguments {
  @Flag(name: .customLong("no-wait"), help: "Fail at once if another caravan command is working on this project.")
  var noWait = false
  @Option(
    help: ArgumentHelp(
      "Append each lifecycle step as a JSON line to this file (also CARAVAN_EVENTS).", valueName: "file"))
  var events: String?
}
