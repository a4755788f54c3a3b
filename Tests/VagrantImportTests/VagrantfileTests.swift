import Foundation
import Machinefile
import Support
import TestSupport
import Testing

@testable import VagrantImport

/// The test Vagrantfiles, in the styles real projects use, evaluated by the real `ruby`
/// (Debian package `ruby`): each one's Machinefile validates, and the report names
/// exactly what was left out (line and what).
@Suite struct VagrantfileTests {
  /// Imports the project `name` (written beside its Vagrantfile) and checks it validates.
  func imported(_ name: String, environment: [String: String] = [:]) async throws -> (ImportResult, String) {
    let project = try Project(copying: name)
    defer { project.cleanUp() }
    let importer = VagrantImporter(environment: testEnvironment(environment))
    let (path, result) = try await onThread { try importer.importVagrantfile(project.vagrantfile, force: false) }
    #expect(path == project.machinefile)
    let written = try String(contentsOfFile: path, encoding: .utf8)
    #expect(written == result.machinefile)
    #expect(validationErrors(written, environment: testEnvironment()) == [])
    return (result, written)
  }

  /// ceph-ansible's style: settings from a YAML file, loops from 0, the playbook in the last machine.
  @Test func yamlSettingsAndLoops() async throws {
    let (result, text) = try await imported("yaml-settings")
    #expect(droppedLines(result) == ["33: libvirt.random_hostname"])
    #expect(result.machines == ["mon-0", "mon-1", "mon-2", "osd-0", "osd-1", "osd2"])
    #expect(
      text.contains(
        "machine \"mon\", count: 3, first: 0 {\n  hostname \"mon${index}\"\n  network private, ip: \"192.168.42.10\"\n}"
      ))
    #expect(text.contains("volume \"vdb\", size: 12GiB, bus: virtio"))
    #expect(text.contains("groups: {mons: [\"mon-0\", \"mon-1\", \"mon-2\"], osds: [\"osd-0\", \"osd-1\", \"osd2\"]"))
    #expect(text.contains("\"all:vars\": {cluster: \"ceph\", osd_count: 3, debug: false}"))
    #expect(!text.contains("sync \".\""), "the Vagrantfile disables /vagrant")
    #expect(result.notes.map(\.line) == [27, 35, 40, 47])
  }

  /// A setting read back (`web.vm.box.to_s`) is the value it was set to, as in Vagrant.
  @Test func settingsReadBackAreTheirValues() async throws {
    let (result, text) = try await imported("read-back")
    #expect(result.dropped.isEmpty, "\(result.dropped)")
    #expect(text.contains("args: [\"generic/debian12\", \"web.local\"]"), "\(text)")
  }

  /// k3s's style: knobs read from the environment, machines from a list.
  @Test func environmentKnobs() async throws {
    let (result, text) = try await imported("env-knobs", environment: ["E2E_NODE_CPUS": "3"])
    #expect(
      droppedLines(result) == [
        "2: ENV[\"E2E_NODE_ROLES\"]", "7: ENV[\"INSTALL_TYPE\"]", "22: config.vagrant.plugins",
      ])
    #expect(text.contains("var E2E_BOX, default: \"generic/ubuntu2204\"\nvar E2E_NODE_CPUS, default: \"3\"\n"))
    #expect(text.contains("var E2E_NODE_MEMORY, default: 3072\nvar E2E_NET_PREFIX, default: \"10.10.10\"\n"))
    #expect(text.contains("box \"${E2E_BOX}\"\ncpus \"${E2E_NODE_CPUS}\"\nmemory \"${E2E_NODE_MEMORY}\"\n"))
    #expect(text.contains("network private, ip: \"${E2E_NET_PREFIX}.101\", netmask: \"255.255.255.0\""))
    // The script body is the shell's, as written.
    #expect(text.contains("  curl -sfL https://get.k3s.io | ${INSTALL} sh -s - --node-ip \"${NODE_IP}\"\n"))
    #expect(result.machines == ["server-0", "agent-0"])
    let spec = try Machinefile.load(
      source: text, fileName: "Machinefile", environment: ["E2E_NODE_CPUS": "5", "E2E_NET_PREFIX": "10.9.9"])
    #expect(spec.machines.map(\.cpus) == [5, 5])
    #expect(spec.machines.first?.memoryBytes == 3072 << 20)
  }

  /// kubespray's style: a config.rb, `(1..N).each` with computed addresses, disks, the
  /// playbook in the last machine with groups and host_vars.
  @Test func clusterLoop() async throws {
    let (result, text) = try await imported("cluster-loop")
    #expect(
      droppedLines(result) == [
        "8: ENV[\"KUBESPRAY_VAGRANT_CONFIG\"]", "43: libvirt.default_prefix",
        "51: private_network option libvirt__guest_ipv6", "62: provisioner ansible option host_key_checking",
      ])
    #expect(result.machines == ["k8s-1", "k8s-2", "k8s-3"])
    #expect(
      text.contains(
        "machine \"k8s\", count: 2 {\n  hostname \"k8s-${index}\"\n  network private, ip: \"172.18.8.101\"\n}"))
    #expect(text.contains("\nmemory 3GiB\n"), "config.rb's $vm_memory")
    #expect(text.contains("\nvolume \"hdaa\", size: 20GiB, bus: scsi\nvolume \"hdbb\", size: 20GiB, bus: scsi\n"))
    #expect(text.contains("libvirt {\n  nested true\n  cpu_mode \"host-passthrough\"\n}"))
    #expect(text.contains("raw_arguments: [\"--forks=3\", \"--flush-cache\", \"-e ansible_become_pass=vagrant\"]"))
    #expect(text.contains("\"k8s_cluster:children\": [\"kube_control_plane\", \"kube_node\"]"))
  }

  /// kolla-ansible's and devstack-vagrant's style: one machine, plugins, triggers, each
  /// kind of provisioner, an nfs folder, and a host command.
  @Test func triggersPluginsAndProvisioners() async throws {
    let (result, text) = try await imported("triggers-plugins")
    #expect(
      droppedLines(result) == [
        "3: host command `git describe --always 2>/dev/null || echo unknown`", "10: config.hostmanager.enabled",
        "11: config.hostmanager.manage_host", "12: Vagrant.has_plugin?(\"vagrant-cachier\")",
        "17: forwarded_port option guest_ip", "18: private_network option libvirt__network_name",
        "19: synced_folder \"/opt/stack/src\" type nfs", "19: synced_folder \"/opt/stack/src\" option nfs_version",
        "31: libvirt.management_network_name", "43: provisioner docker", "61: trigger before halt ruby",
      ])
    #expect(result.machines == ["default"])
    #expect(text.contains("\nsync \"./src\" -> \"/opt/stack/src\"\n"), "written as rsync")
    #expect(
      text.contains("libvirt {\n  uri \"qemu:///system\"\n  accel kvm\n  graphics spice\n  machine_type \"q35\"\n}"))
    #expect(
      text.contains(
        "provision shell, path: \"bootstrap.sh\", args: [\"--release\", \"2024.1\", \"--verbose\"], privileged: false"))
    #expect(
      text.contains("facts: {role: \"devstack\", version: \"unknown\"}"),
      "the host command's output, in a folder outside git")
    #expect(
      text.contains("# name: prepare\n# info: Preparing the host\ntrigger before: up, run: \"mkdir -p ./src ./cfg\"\n"))
    #expect(
      text.contains(
        "trigger after: [up, reload], run_remote: \"systemctl list-units 'devstack@*'\", on_error: continue"))
  }

  /// Plainly written, with a print of its own on standard output: nothing left out.
  @Test func aCompleteTranslationLeavesNothingOut() async throws {
    let (result, text) = try await imported("single-define")
    #expect(result.complete)
    #expect(!text.contains("Left out"))
    #expect(result.machines == ["web", "db"])
    #expect(text.contains("machine \"web\", primary: true {\n  cpus 2\n  memory 1536MiB\n"))
    #expect(text.contains("machine \"db\", autostart: false {\n  network private, ip: \"10.20.0.11\"\n}"))
  }
}
