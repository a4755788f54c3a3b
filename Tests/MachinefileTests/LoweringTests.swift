import Spec
import Support
import Testing

@testable import Machinefile

private func load(_ source: String, _ environment: [String: String] = [:]) throws -> ProjectSpec {
  try Machinefile.load(source: source, fileName: "Machinefile", environment: environment)
}

@Suite struct LoweringTests {
  @Test func defaultsWhenNothingIsSet() throws {
    let spec = try load("")
    #expect(spec.version == 1)
    #expect(spec.machines.count == 1)
    let machine = spec.machines[0]
    #expect(machine == MachineSpec(name: "default"))
    #expect(spec.primaryMachine?.name == "default")
  }

  @Test func topLevelSettingsAreInherited() throws {
    let spec = try load("cpus 3\nmemory 2GiB\nmachine \"a\" {}\nmachine \"b\" {\n  cpus 5\n}")
    #expect(spec.machines.map(\.cpus) == [3, 5])
    #expect(spec.machines.map(\.memoryMiB) == [2048, 2048])
  }

  @Test func machineOverrideReplacesWholeBox() throws {
    let spec = try load("box \"a\", version: \"~> 1.0\"\nmachine \"m\" {\n  box \"b\"\n}")
    #expect(spec.machines[0].box == BoxRequirement(name: "b"))
  }

  @Test func multiValuedSettingsTopLevelFirst() throws {
    let spec = try load(
      """
      machine "m" {
        forward 2 -> 2
        trigger after: up, run: "own"
      }
      forward 1 -> 1
      trigger before: halt, run: "top"
      """)
    // Top-level ones come first even when written after the machine.
    #expect(spec.machines[0].forwards.map(\.host) == [1, 2])
    #expect(spec.machines[0].triggers.map(\.run) == ["top", "own"])
  }

  @Test func provisionersRunTopLevelFirstAndAreNamedByPosition() throws {
    let spec = try load(
      """
      provision shell, inline: "top"
      machine "m" {
        provision file, source: "a", destination: "/a"
        provision shell, name: "named", inline: "own"
        provision ansible, playbook: "p.yml"
      }
      """)
    let provisioners = spec.machines[0].provisioners
    #expect(provisioners.map(\.name) == ["shell-1", "file-2", "named", "ansible-4"])
    #expect(provisioners.map(\.location.line) == [1, 3, 4, 5])
  }

  @Test func sshAndLibvirtInheritPerSetting() throws {
    let spec = try load(
      """
      ssh { user "ops"; port 2222 }
      libvirt { accel tcg; firmware uefi }
      machine "m" {
        ssh { port 22 }
        libvirt { graphics vnc }
      }
      """)
    let machine = spec.machines[0]
    #expect(machine.ssh.user == "ops")
    #expect(machine.ssh.port == 22)
    #expect(machine.libvirt.accel == .tcg)
    #expect(machine.libvirt.firmware == .uefi)
    #expect(machine.libvirt.graphics == .vnc)
    #expect(
      machine.settingsUsed.map(\.name) == [
        "ssh.user", "libvirt.accel", "libvirt.firmware", "ssh.port", "libvirt.graphics",
      ])
    #expect(machine.settingsUsed.first { $0.name == "ssh.port" }?.location == SourceLocation(line: 4, column: 9))
  }

  @Test func countExpansion() throws {
    let spec = try load("machine \"w\", count: 3, autostart: false {\n  cpus 2\n}\nmachine \"x\" {}")
    #expect(spec.machines.map(\.name) == ["w-1", "w-2", "w-3", "x"])
    #expect(spec.machines.map(\.index) == [1, 2, 3, 1])
    #expect(spec.machines.map(\.autostart) == [false, false, false, true])
    #expect(spec.machines.map(\.cpus) == [2, 2, 2, 1])
    #expect(spec.primaryMachine == nil)
    #expect(spec.machine(named: "w-2")?.index == 2)
  }

  @Test func memoryUnits() throws {
    #expect(try load("memory 2048").machines[0].memoryBytes == 2048 << 20)
    #expect(try load("memory 2GiB").machines[0].memoryBytes == 2 << 30)
    #expect(try load("memory 2G").machines[0].memoryBytes == 2 << 30)
    #expect(try load("memory 2GB").machines[0].memoryBytes == 2_000_000_000)
    #expect(try load("memory 64MiB").machines[0].memoryMiB == 64)
  }

  @Test func settingsUsedIncludesInheritedOnesWithTheirPlace() throws {
    let spec = try load(
      "memory 2GiB\nsync \"a\" -> \"/a\"\nmachine \"m\" {\n  sync \"b\" -> \"/b\"\n  ssh { forward_agent true }\n}")
    #expect(
      spec.machines[0].settingsUsed == [
        UsedSetting(name: "memory", location: SourceLocation(line: 1, column: 1)),
        UsedSetting(name: "sync", location: SourceLocation(line: 2, column: 1)),
        UsedSetting(name: "sync", location: SourceLocation(line: 4, column: 3)),
        UsedSetting(name: "ssh.forward_agent", location: SourceLocation(line: 5, column: 9)),
      ])
  }

  @Test func specExampleLowersToTheRightValues() throws {
    let url = try goldenDirectory().appendingPathComponent("spec_example.machinefile")
    let spec = try Machinefile.load(path: url.path, environment: [:])
    #expect(spec.machines.map(\.name) == ["web", "db", "worker-1", "worker-2", "worker-3"])
    #expect(spec.primaryMachine?.name == "web")
    let web = try #require(spec.machine(named: "web"))
    #expect(web.box == BoxRequirement(name: "caravan/debian-12", version: try VersionConstraint(parsing: "~> 12.0")))
    #expect(web.cpus == 2 && web.memoryMiB == 1024)
    #expect(web.hostname == "web.local")
    #expect(web.forwards == [PortForward(host: 8080, guest: 80)])
    var sync = SyncSpec(source: "./site", destination: "/srv/site")
    sync.exclude = [".git", "node_modules"]
    #expect(web.syncs == [sync])
    #expect(web.provisioners.map(\.name) == ["nginx", "file-2", "shell-3"])
    #expect(web.provisioners.map(\.run) == [.once, .once, .always])
    #expect(web.provisioners[0].kind == .shell(ShellProvisioner(inline: "apt-get update\napt-get install -y nginx")))
    #expect(web.provisioners[1].kind == .file(source: "nginx.conf", destination: "/etc/nginx/nginx.conf"))
    var reload = ShellProvisioner(path: "scripts/reload.sh")
    reload.args = ["--quiet"]
    #expect(web.provisioners[2].kind == .shell(reload))

    let db = try #require(spec.machine(named: "db"))
    #expect(db.autostart == false)
    #expect(db.memoryBytes == 2 << 30)
    #expect(db.diskBytes == 20 << 30)
    #expect(db.networks == [.privateNetwork(ip: "10.20.0.11", netmask: nil)])
    // DB_ROLE is unset here, so the fallback applies; the script itself is verbatim.
    var role = ShellProvisioner(inline: "echo $ROLE > /etc/role")
    role.env = ["ROLE": "primary"]
    #expect(db.provisioners[0].kind == .shell(role))
    #expect(db.provisioners[0].name == "shell-1")

    #expect(spec.machines.suffix(3).map(\.hostname) == ["worker-1", "worker-2", "worker-3"])
    #expect(spec.machines.suffix(3).allSatisfy { $0.cpus == 2 && $0.box?.name == "caravan/debian-12" })
  }
}
