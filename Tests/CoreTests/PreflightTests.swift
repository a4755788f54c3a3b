import Foundation
import Host
import Support
import Testing

@testable import Core

/// `up`'s cheap host checks, through a fake host: what stops it by name before
/// anything is made, and what only warns.
struct PreflightTests {
  @Test func missingSSHClientStopsUpByNameBeforeAnythingIsMade() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    let host = FakeHost()
    host.programs["ssh"] = nil
    f.lifecycle.host = host
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(error.message.hasPrefix("caravan up cannot go on: the OpenSSH client is missing: ssh is not on PATH"))
    #expect(error.hint?.contains("apt-get install openssh-client") == true)
    #expect(error.hint?.contains("`caravan doctor`") == true)
    #expect(!f.hypervisor.calls.contains { $0.hasPrefix("define") })
  }

  @Test func fullCaravanHomeStopsUp() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    let host = FakeHost()
    host.free = 3 << 20
    f.lifecycle.host = host
    let error = try #require(throws: CaravanError.self) { try f.lifecycle.up(f.project.spec.machines, provision: nil) }
    #expect(error.message.contains("CARAVAN_HOME (\(f.root)/home) has 3.0 MiB free"), "\(error)")
    #expect(error.hint?.contains("caravan box prune") == true)
    #expect(!f.hypervisor.calls.contains { $0.hasPrefix("define") || $0.hasPrefix("import") })
  }

  @Test func lowButNotFullHomeDoesNotStopUp() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    let host = FakeHost()
    host.free = 500 << 20
    f.lifecycle.host = host
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    #expect(!f.reporter.lines.contains { $0.contains("CARAVAN_HOME") }, "doctor's thresholds are doctor's")
  }

  @Test func rootOnlyDevKVMWarnsBeforeTheDefine() throws {
    let f = try Fixture(LifecycleTests.machinefile)
    defer { f.cleanUp() }
    let host = FakeHost()
    host.files["/dev/kvm"] = FileFacts(uid: 0, gid: 0, mode: 0o600)
    f.lifecycle.host = host
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let warning = try #require(f.reporter.lines.firstIndex { $0.hasPrefix("warning: /dev/kvm is root:root 0600") })
    #expect(f.reporter.lines[warning].contains("chown root:kvm /dev/kvm; chmod 0660 /dev/kvm"))
    #expect(f.hypervisor.calls.contains { $0.hasPrefix("define") }, "only a warning")
  }
}
