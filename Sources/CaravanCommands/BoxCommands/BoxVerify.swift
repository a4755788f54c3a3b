import ArgumentParser
import Builder
import Foundation
import Host

struct BoxVerify: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check a box against the box contract on a real guest.",
    discussion: """
      Checks, in order: the format and metadata; the box boots and answers SSH as its user with Vagrant's \
      insecure key; sudo needs no password; the first NIC has a DHCP address. Says which point failed. A box \
      file is added to a scratch store for the check and removed after; an installed box is left as it is.
      """)

  @Argument(help: "A .box file, or the name of an installed box.") var box: String
  @Option(help: "Seconds to wait for SSH.") var bootTimeout: Double = 300

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let verifier = BoxVerifier(
      environment: environment, uri: defaultLibvirtURI(configured: nil, environment: environment),
      home: CaravanPaths.home(environment: environment))
    let points = try verifier.verify(box, bootTimeoutSeconds: bootTimeout)
    print("\(box): meets the box contract (\(points.map(\.name).joined(separator: "; ")))")
  }
}
