import Foundation
import Host
import Spec
import Support
import Testing

@testable import Core

/// A normal user's `qemu:///session`: the folders it needs, computed from a home;
/// the home when HOME is missing or another user's; doctor's check of them; a
/// private network refused by name before anything is made.
struct SessionTests {
  @Test func sessionFoldersAreUnderTheUsersHome() {
    let session = LibvirtFolders(uri: "qemu:///session", environment: [:], home: "/home/ann")
    #expect(session.isSession)
    #expect(session.qemuLogDirectory == "/home/ann/.cache/libvirt/qemu/log")
    #expect(
      session.consoleLog(domain: "caravan-p-web") == "/home/ann/.cache/libvirt/qemu/log/caravan-p-web-console.log")
    #expect(session.qemuLog(domain: "d") == "/home/ann/.cache/libvirt/qemu/log/d.log")
    #expect(session.poolDirectory("caravan") == "/home/ann/.local/share/libvirt/images/caravan")
    #expect(session.sessionFolders == ["/home/ann/.cache/libvirt/qemu/log"])
    // libvirt's cache folder follows XDG_CACHE_HOME, as the session daemon's does.
    let cache = LibvirtFolders(uri: "qemu:///session", environment: ["XDG_CACHE_HOME": "/c"], home: "/home/ann")
    #expect(cache.qemuLogDirectory == "/c/libvirt/qemu/log")
    let system = LibvirtFolders(uri: "qemu:///system", environment: [:], home: "/root")
    #expect(system.consoleLog(domain: "d") == "/var/log/libvirt/qemu/d-console.log")
    #expect(system.poolDirectory("caravan") == "/var/lib/libvirt/images/caravan")
    #expect(system.sessionFolders.isEmpty)
    #expect(LibvirtFolders.isSession("qemu+ssh://u@h/session"))
    #expect(!LibvirtFolders.isSession("qemu+ssh://u@h/system") && !LibvirtFolders.isSession("test:///default"))
  }

  @Test func makingTheSessionFoldersMakesTheLogAndPoolParents() throws {
    let home = NSTemporaryDirectory() + "caravan-session-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: home) }
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    let folders = LibvirtFolders(uri: "qemu:///session", environment: [:], home: home)
    try folders.makeSessionFolders(pool: "caravan")
    #expect(FileSystem.exists(home + "/.cache/libvirt/qemu/log"))
    #expect(FileSystem.exists(home + "/.local/share/libvirt/images"))
    #expect(!FileSystem.exists(home + "/.local/share/libvirt/images/caravan"), "libvirt builds the pool's own folder")
    // A home nobody may write in: the error names the folder and the fix.
    let blocked = LibvirtFolders(uri: "qemu:///session", environment: [:], home: "/proc/caravan-no")
    let error = try #require(throws: CaravanError.self) { try blocked.makeSessionFolders() }
    #expect(error.message.hasPrefix("cannot make the folder '/proc/caravan-no/.cache/libvirt/qemu/log'"))
    #expect(error.hint?.contains("mkdir -p /proc/caravan-no/.cache/libvirt/qemu/log") == true)
  }

  @Test func theHomeIsHOMEWhenUsableElseThePasswordDatabases() {
    let usable = UserHome.resolve(environment: ["HOME": "/home/ann"], usable: { _ in true }, passwd: "/home/ann")
    #expect(usable == UserHome(path: "/home/ann", source: .environment))
    let missing = UserHome.resolve(environment: [:], usable: { _ in true }, passwd: "/home/ann")
    #expect(missing == UserHome(path: "/home/ann", source: .passwd))
    // `sudo -u ann` may leave root's HOME: ann cannot write there.
    let leftOver = UserHome.resolve(
      environment: ["HOME": "/root"], usable: { $0 != "/root" }, passwd: "/home/ann")
    #expect(leftOver == UserHome(path: "/home/ann", source: .passwd, ignored: "/root"))
    let relative = UserHome.resolve(environment: ["HOME": "ann"], usable: { _ in true }, passwd: "/home/ann")
    #expect(relative.path == "/home/ann")
  }

  @Test func doctorChecksTheSessionFolders() {
    var setup = DoctorSetup()
    setup.uri = "qemu:///session"
    setup.host.isRoot = false
    setup.host.currentUser = UserFacts(name: "alice", uid: 1000, groups: [1000])
    setup.host.files["/"] = FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false)
    setup.host.files["/home/alice"] = FileFacts(uid: 1000, gid: 1000, mode: 0o755, isCharacterDevice: false)
    let fresh = setup.run()["session_folders"]
    #expect(fresh?.status == .ok)
    #expect(
      fresh?.summary
        == "qemu:///session in your home /home/alice (from HOME): log folder /home/alice/.cache/libvirt/qemu/log is missing: `up` makes it; pool folder /home/alice/.local/share/libvirt/images is missing: `up` makes it"
    )
    #expect(setup.run()["needs_root"]?.summary.contains("`network private`") == true)
    // A home alice cannot write in.
    setup.host.files["/home/alice"] = FileFacts(uid: 0, gid: 0, mode: 0o755, isCharacterDevice: false)
    let blocked = setup.run()["session_folders"]
    #expect(blocked?.status == .error)
    #expect(blocked?.summary.contains("cannot be made (/home/alice is root:root 0755)") == true)
    // HOME left over from root: the password database's home is used, and doctor says so.
    setup.host.files["/home/alice"] = FileFacts(uid: 1000, gid: 1000, mode: 0o755, isCharacterDevice: false)
    setup.host.home = UserHome(path: "/home/alice", source: .passwd, ignored: "/root")
    let ignored = setup.run()["session_folders"]
    #expect(ignored?.status == .warning)
    #expect(
      ignored?.summary.hasPrefix("HOME is '/root', not a folder you may write in: Caravan uses your home") == true)
    setup.uri = "qemu:///system"
    #expect(setup.run()["session_folders"] == nil, "the system daemon keeps its own folders")
  }

  @Test func aPrivateNetworkOnTheSessionIsRefusedByNameBeforeAnythingIsMade() throws {
    let f = try Fixture(NetworkLifecycleTests.machinefile)
    defer { f.cleanUp() }
    f.hypervisor.uri = "qemu:///session"
    let error = try #require(throws: CaravanError.self) {
      try f.lifecycle.up(f.project.spec.machines, provision: nil)
    }
    #expect(
      error.message
        == "machine 'web': `network private, ip: \"10.20.0.11\"` needs a libvirt network, which qemu:///session cannot create without root"
    )
    #expect(error.hint?.hasPrefix("Use qemu:///system (`libvirt { uri \"qemu:///system\" }`") == true)
    #expect(f.hypervisor.domains.isEmpty && f.hypervisor.networks.isEmpty)
    #expect(
      !f.hypervisor.calls.contains { $0.hasPrefix("define") || $0.hasPrefix("ensureNetwork") || $0.hasPrefix("import") }
    )
  }
}
