import ArgumentParser

struct BoxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "box", abstract: "Manage base boxes.",
    subcommands: [
      BoxAdd.self, BoxList.self, BoxRemove.self, BoxPrune.self, BoxOutdated.self, BoxUpdate.self, BoxVerify.self,
      BoxWarm.self, BoxPush.self,
    ])
}
