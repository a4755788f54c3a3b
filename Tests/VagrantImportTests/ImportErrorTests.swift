import Foundation
import Support
import TestSupport
import Testing

@testable import VagrantImport

/// Vagrantfiles that cannot be evaluated, a host without Ruby, and an existing
/// Machinefile: each a clear error, and nothing written.
@Suite struct ImportErrorTests {
  @Test func aRaiseIsRubysMessageAtItsLineAndNothingIsWritten() async throws {
    let project = try Project(copying: "raises")
    defer { project.cleanUp() }
    let importer = VagrantImporter(environment: testEnvironment())
    let error = try await #require(throws: CaravanError.self) {
      try await onThread { try importer.importVagrantfile(project.vagrantfile, force: false) }
    }
    #expect(error.kind == .invalidInput)
    #expect(
      error.message
        == "Vagrantfile:5: evaluating the Vagrantfile raised RuntimeError: vagrant-hostmanager is not installed: run `vagrant plugin install vagrant-hostmanager`"
    )
    #expect(error.hint?.contains("nothing was written") == true)
    #expect(!FileSystem.exists(project.machinefile))
  }

  @Test func aSyntaxErrorNamesItsLine() async throws {
    let project = try Project(copying: "raises")
    defer { project.cleanUp() }
    try Data("Vagrant.configure(\"2\") do |config|\n  config.vm.box = \"x\"\n  if true\nend\n".utf8)
      .write(to: URL(fileURLWithPath: project.vagrantfile))
    let importer = VagrantImporter(environment: testEnvironment())
    let error = try await #require(throws: CaravanError.self) {
      try await onThread { try importer.importVagrantfile(project.vagrantfile, force: false) }
    }
    #expect(error.message.hasPrefix("Vagrantfile:4: evaluating the Vagrantfile raised SyntaxError: syntax error"))
    #expect(!FileSystem.exists(project.machinefile))
  }

  @Test func aLoopThatNeverEndsIsStoppedAtTheDeadline() async throws {
    let project = try Project(copying: "never-ends")
    defer { project.cleanUp() }
    let importer = VagrantImporter(timeout: 1, environment: testEnvironment())
    // Timed on the thread that waits: the test's own resumption may wait for the
    // concurrency pool, which the other suites running at once keep busy.
    let (caught, elapsed) = try await onThread { () -> (CaravanError?, TimeInterval) in
      let started = Date()
      do {
        _ = try importer.importVagrantfile(project.vagrantfile, force: false)
        return (nil, Date().timeIntervalSince(started))
      } catch let error as CaravanError {
        return (error, Date().timeIntervalSince(started))
      }
    }
    let error = try #require(caught)
    #expect(elapsed < 10, "\(elapsed)")
    #expect(error.kind == .timeout)
    #expect(error.message.hasPrefix("evaluating '\(project.vagrantfile)' took longer than 1 s and was stopped"))
    #expect(!FileSystem.exists(project.machinefile))
  }

  @Test func withoutRubyTheErrorNamesTheDebianPackage() async throws {
    let project = try Project(copying: "single-define")
    defer { project.cleanUp() }
    let importer = VagrantImporter(ruby: project.root + "/no-such-ruby", environment: testEnvironment())
    let error = try await #require(throws: CaravanError.self) {
      try await onThread { try importer.importVagrantfile(project.vagrantfile, force: false) }
    }
    #expect(error.kind == .notFound)
    #expect(error.message.hasPrefix("cannot run '\(project.root)/no-such-ruby' to evaluate the Vagrantfile"))
    #expect(error.hint?.contains("Debian package: ruby") == true)
    #expect(!FileSystem.exists(project.machinefile))
  }

  @Test func anExistingMachinefileIsKeptUnlessForced() async throws {
    let project = try Project(copying: "single-define")
    defer { project.cleanUp() }
    try Data("# mine\n".utf8).write(to: URL(fileURLWithPath: project.machinefile))
    let importer = VagrantImporter(environment: testEnvironment())
    let error = try await #require(throws: CaravanError.self) {
      try await onThread { try importer.importVagrantfile(project.vagrantfile, force: false) }
    }
    #expect(error.kind == .conflict)
    #expect(error.message == "'\(project.machinefile)' already exists")
    #expect(error.hint == "Run `caravan init --from Vagrantfile --force` to overwrite it.")
    #expect(try String(contentsOfFile: project.machinefile, encoding: .utf8) == "# mine\n")

    let (_, result) = try await onThread { try importer.importVagrantfile(project.vagrantfile, force: true) }
    #expect(try String(contentsOfFile: project.machinefile, encoding: .utf8) == result.machinefile)
    #expect(result.machinefile.contains("machine \"web\""))
  }

  @Test func theVagrantfileIsNamedByItsPathOrItsFolder() throws {
    let project = try Project(copying: "single-define")
    defer { project.cleanUp() }
    #expect(try VagrantImporter.vagrantfile(nil, cwd: project.root) == project.vagrantfile)
    #expect(try VagrantImporter.vagrantfile(project.root, cwd: "/") == project.vagrantfile)
    #expect(try VagrantImporter.vagrantfile("Vagrantfile", cwd: project.root) == project.vagrantfile)
    let error = try #require(throws: CaravanError.self) { try VagrantImporter.vagrantfile("nope", cwd: project.root) }
    #expect(error.message == "no Vagrantfile at '\(project.root)/nope'")
  }
}
