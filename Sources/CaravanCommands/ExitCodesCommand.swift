import ArgumentParser

/// `caravan exit-codes` (and `caravan help exit-codes`): what each exit status means,
/// for CI scripts that branch on it.
struct ExitCodesCommand: ParsableCommand {
  static let table = """
    0    success
    1    a command failed: a machine did not come up, a box could not be
         added, a step failed; the message (and, with --events, the failed
         step's JSON line) names the machine
    2    `init --from Vagrantfile` when something was left out of the
         Machinefile it wrote
    64   a command line that cannot be parsed (an unknown command or flag,
         a missing argument, a value out of range)
    65   an invalid Machinefile or Machinefile.lock (each problem at its line
         and column), and what `up --locked` refuses (no lock, a box it does
         not name, a changed image)
    130  interrupted by Ctrl-C or SIGTERM at a safe point (what was left is
         said)
    N    `caravan ssh -c CMD`: CMD's own exit status in the guest (255: ssh
         could not connect)
    """

  static let configuration = CommandConfiguration(
    commandName: "exit-codes",
    abstract: "What each exit status of caravan means (also: caravan help exit-codes).",
    discussion: table)

  func run() throws {
    print(ExitCodesCommand.table)
  }
}
