import Foundation
import Host
import Spec
import Support
import TestSupport
import Testing

@testable import Core

/// A remote libvirt (`qemu+ssh://user@host[:port]/system[?keyfile=…]`): its URI read
/// into the host Caravan's SSH goes through, and `up` choosing ports it cannot probe.
struct RemoteLibvirtTests {
  @Test func sshURIsAreReadIntoTheirParts() throws {
    let uri = try LibvirtURI("qemu+ssh://root@virt.example:2022/system?keyfile=/home/u/.ssh/id%20x&no_verify=1")
    #expect(uri.driver == "qemu" && uri.transport == "ssh")
    #expect(uri.user == "root" && uri.host == "virt.example" && uri.port == 2022 && uri.path == "/system")
    #expect(uri.parameters == ["keyfile": "/home/u/.ssh/id x", "no_verify": "1"])
    #expect(!uri.isLocal)

    let bare = try LibvirtURI("qemu+ssh://virt.example/system")
    #expect(bare.user == nil && bare.port == nil && bare.parameters.isEmpty)
    #expect(try bare.jump() == SSHJump(host: "virt.example"))

    let v6 = try LibvirtURI("qemu+libssh2://ops@[fd00::5]:22/system")
    #expect(v6.host == "fd00::5" && v6.port == 22 && v6.user == "ops")
    #expect(try v6.jump()?.destination == "ops@[fd00::5]")
  }

  @Test func localURIsHaveNoJumpHost() throws {
    for text in ["qemu:///system", "qemu:///session", "test:///default", "qemu+unix:///system"] {
      let uri = try LibvirtURI(text)
      #expect(uri.isLocal, "\(text)")
      #expect(try uri.jump() == nil, "\(text)")
    }
    #expect(try LibvirtURI.jump(for: "qemu:///system") == nil)
  }

  @Test func theJumpHostIsTheURIsUserHostPortAndKey() throws {
    let jump = try #require(
      try LibvirtURI.jump(for: "qemu+ssh://root@198.18.0.2:2022/system?keyfile=/k/id&no_verify=1"))
    #expect(
      jump == SSHJump(user: "root", host: "198.18.0.2", port: 2022, identityFile: "/k/id", verifyHostKey: false))
    #expect(jump.clientArguments == ["-p", "2022", "-i", "/k/id", "-o", "StrictHostKeyChecking=no"])
  }

  @Test func badAndNonSSHRemoteURIsAreRefusedByName() throws {
    let noScheme = try #require(throws: CaravanError.self) { try LibvirtURI("virt.example/system") }
    #expect(noScheme.message == "the libvirt URI 'virt.example/system' has no '://'")
    #expect(noScheme.hint?.contains("qemu+ssh://user@host[:port]/system[?keyfile=PATH]") == true)
    let badPort = try #require(throws: CaravanError.self) { try LibvirtURI("qemu+ssh://h:99999/system") }
    #expect(badPort.message.contains("has the port '99999', which is not a number from 1 to 65535"))

    let tls = try #require(throws: CaravanError.self) { try LibvirtURI.jump(for: "qemu+tls://virt.example/system") }
    #expect(
      tls.message
        == "the libvirt URI 'qemu+tls://virt.example/system' reaches virt.example over tls, but Caravan reaches the guests of a remote libvirt only through SSH to its host"
    )
    #expect(tls.hint?.hasPrefix("Use qemu+ssh://virt.example/system:") == true, "\(tls.hint ?? "")")
    #expect(throws: CaravanError.self) { try LibvirtURI.jump(for: "qemu://virt.example/system") }
  }

  @Test func theJumpIsAProxyJumpUnlessItNeedsAKeyOrNoHostKeyCheck() {
    #expect(SSHJump(user: "root", host: "h").openSSHOption == ("ProxyJump", "root@h"))
    #expect(SSHJump(host: "h", port: 2022).openSSHOption == ("ProxyJump", "h:2022"))
    #expect(SSHJump(user: "u", host: "fd00::5", port: 22).openSSHOption == ("ProxyJump", "u@[fd00::5]:22"))
    // ProxyJump cannot carry a key: the URI's keyfile goes into a ProxyCommand, quoted
    // for its shell and with `%` doubled (ssh expands `%h`, `%p` there first).
    let keyed = SSHJump(user: "root", host: "h", port: 22, identityFile: "/k/my key 100%", verifyHostKey: false)
    #expect(
      keyed.openSSHOption
        == ("ProxyCommand", "ssh -p 22 -i '/k/my key 100%%' -o StrictHostKeyChecking=no -W '[%h]:%p' root@h"))
  }

  @Test func aForwardOnTheRemoteHostIsBroughtHereWithSSHL() {
    let jump = SSHJump(user: "root", host: "198.18.0.2", port: 2022, identityFile: "/k/id")
    #expect(
      jump.localForwardCommand(remoteIP: "127.0.0.1", remotePort: 8080, localPort: 8080)
        == ["ssh", "-N", "-L", "8080:127.0.0.1:8080", "-p", "2022", "-i", "/k/id", "root@198.18.0.2"])
  }

  @Test func qemusBindFailureNamesThePort() {
    #expect(
      Lifecycle.unboundPort(
        in: "qemu-system-x86_64: -netdev user,…: Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'")
        == 2222)
    #expect(Lifecycle.unboundPort(in: "Domain not found") == nil)
  }

  static let twoMachines = """
    box "caravan/debian-12"
    machine "a" {}
    machine "b" {
      forward 8080 -> 80
    }
    """

  /// Ports on a remote host are not probed here: a port busy on this machine is still
  /// chosen, one another running Caravan domain of that libvirt forwards is not.
  @Test func upOnARemoteHostChoosesPortsFromItsDomainsNotFromThisMachine() throws {
    let f = try Fixture(RemoteLibvirtTests.twoMachines)
    defer { f.cleanUp() }
    f.hypervisor.uri = "qemu+ssh://root@virt.example/system"
    let busyHere = try? PortBlocker(port: 2222)
    defer { busyHere?.close() }
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let a = try #require(try f.project.loadRecord("a"))
    let b = try #require(try f.project.loadRecord("b"))
    #expect(a.sshPort == 2222, "2222 is free on the remote host, whatever this machine has on it")
    #expect(b.sshPort == PortAllocator.correctionRange.lowerBound, "a's running domain forwards 2222 there")
    #expect(b.forwards.map(\.description).contains("tcp 127.0.0.1:8080 -> 80"))
    #expect(f.reporter.lines.contains("a: SSH: 127.0.0.1:2222 -> 22"), "\(f.reporter.lines)")
    #expect(
      f.reporter.lines.contains {
        $0.hasPrefix("a: ready. `caravan ssh a` logs in (ssh -p 2222 -i ")
          && $0.hasSuffix(" -J root@virt.example vagrant@127.0.0.1)")
      }, "\(f.reporter.lines)")

    // Caravan's SSH goes through the libvirt host.
    let endpoint = try f.lifecycle.sshConfigEndpoint(of: f.project.spec.machines[0])
    #expect(endpoint.host == "127.0.0.1" && endpoint.port == 2222)
    #expect(endpoint.jump == SSHJump(user: "root", host: "virt.example"))
  }

  /// Here too, a program may take a port between the probe and QEMU's start (another
  /// project's `up` with its own lock folder did, in a test run): `up` tries another.
  @Test func aPortTakenHereBeforeQEMUBindsItIsAvoidedToo() throws {
    let f = try Fixture("box \"caravan/debian-12\"\n")
    defer { f.cleanUp() }
    // The probe finds a free port (2222, or another where this host's guests hold it); another
    // program takes it before QEMU binds it.
    f.hypervisor.takesFirstChosenPort = true
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let record = try #require(try f.project.loadRecord("default"))
    let taken = try #require(f.hypervisor.takenPort)
    #expect(record.sshPort != taken, "\(record.sshPort)")
    #expect(
      f.reporter.lines.contains {
        $0.hasSuffix(" is in use here since it was chosen (QEMU could not bind it); choosing another")
      }, "\(f.reporter.lines)")
    #expect(try f.hypervisor.status(domain: record.domainName) == .running)
  }

  /// A port another program holds on the remote host shows as QEMU's bind failure:
  /// `up` avoids that port and starts the machine on another one.
  @Test func aPortHeldOnTheRemoteHostIsAvoidedAfterQEMUsBindFailure() throws {
    let f = try Fixture("box \"caravan/debian-12\"\nforward 8080 -> 80, auto_correct: true\n")
    defer { f.cleanUp() }
    f.hypervisor.uri = "qemu+ssh://root@virt.example/system"
    f.hypervisor.heldPorts = [2222, 8080]
    try f.lifecycle.up(f.project.spec.machines, provision: nil)
    let record = try #require(try f.project.loadRecord("default"))
    #expect(record.sshPort == 2200)
    #expect(record.forwards.map(\.description) == ["tcp 127.0.0.1:2200 -> 22", "tcp 127.0.0.1:2201 -> 80"])
    #expect(
      f.reporter.lines.contains(
        "default: host port 2222 is in use on virt.example (QEMU could not bind it); choosing another"))
    #expect(try f.hypervisor.status(domain: record.domainName) == .running)

    // A forward with `auto_correct: false` is not moved: the port is named.
    let g = try Fixture("box \"caravan/debian-12\"\nforward 8080 -> 80, auto_correct: false\n")
    defer { g.cleanUp() }
    g.hypervisor.uri = "qemu+ssh://root@virt.example/system"
    g.hypervisor.heldPorts = [8080]
    let error = try #require(throws: CaravanError.self) { try g.lifecycle.up(g.project.spec.machines, provision: nil) }
    #expect(error.message.contains("host port 127.0.0.1:8080 for forward 8080 -> 80 is already in use"), "\(error)")
  }
}
