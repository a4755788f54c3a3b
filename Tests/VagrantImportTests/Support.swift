import Foundation
import Machinefile
import Support
import TestSupport
import Testing

@testable import VagrantImport

/// The test Vagrantfiles (Tests/VagrantImportTests/Vagrantfiles), copied into a fresh
/// folder per test so a written Machinefile never lands in the bundle.
struct Project {
  let root: String

  init(copying name: String) throws {
    root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-vagrant-test")
    let bundle = try #require(Bundle.module.resourceURL).appendingPathComponent("Vagrantfiles/\(name)")
    for item in try FileManager.default.contentsOfDirectory(atPath: bundle.path) {
      try FileManager.default.copyItem(atPath: bundle.path + "/" + item, toPath: root + "/" + item)
    }
  }

  var vagrantfile: String { root + "/Vagrantfile" }
  var machinefile: String { root + "/Machinefile" }

  func cleanUp() { try? FileSystem.removeTree(root) }
}

/// The environment the test Vagrantfiles see: this process's, without their knobs, plus `extra`.
func testEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
  var environment = ProcessInfo.processInfo.environment.filter {
    !$0.key.hasPrefix("E2E_") && !$0.key.hasPrefix("KUBESPRAY_") && $0.key != "INSTALL_TYPE"
  }
  environment.merge(extra) { _, new in new }
  return environment
}

/// Each dropped item as `LINE: what`, the form the tests compare.
func droppedLines(_ result: ImportResult) -> [String] {
  result.dropped.map { "\($0.line): \($0.what)" }
}

/// The errors Caravan's validator finds in `text` (none for a written Machinefile).
func validationErrors(_ text: String, environment: [String: String]) -> [String] {
  Machinefile.check(source: text, fileName: "Machinefile", environment: environment).diagnostics
    .filter { $0.severity == .error }.map(\.rendered)
}
