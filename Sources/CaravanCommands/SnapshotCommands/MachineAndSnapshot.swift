import ArgumentParser

/// `[MACHINE] NAME`: the arguments of `snapshot save|restore|delete`.
struct MachineAndSnapshot: ParsableArguments {
  @Argument(
    help: ArgumentHelp("[MACHINE] NAME: the machine (default: all) and the snapshot's name.", valueName: "words"))
  var words: [String] = []

  func validate() throws {
    guard words.count == 1 || words.count == 2 else {
      throw ValidationError("give the snapshot's name, optionally after the machine's: [MACHINE] NAME")
    }
  }

  var machines: [String] { words.count == 2 ? [words[0]] : [] }
  var name: String { words[words.count - 1] }
}
