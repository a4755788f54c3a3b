// A stable, readable text form of a ProjectSpec, for golden files and assertions.

import Spec

@testable import Machinefile

func dump(_ spec: ProjectSpec) -> String {
  var out: [String] = ["version \(spec.version)"]
  func quoted(_ text: String?) -> String {
    guard let text else { return "nil" }
    var escaped = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": escaped += "\\n"
      case "\t": escaped += "\\t"
      case "\"": escaped += "\\\""
      case "\\": escaped += "\\\\"
      default: escaped.unicodeScalars.append(scalar)
      }
    }
    return "\"\(escaped)\""
  }
  func list(_ items: [String]) -> String { "[" + items.map { quoted($0) }.joined(separator: ", ") + "]" }
  func map(_ items: [String: String]) -> String {
    "{" + items.keys.sorted().map { "\($0): \(quoted(items[$0]))" }.joined(separator: ", ") + "}"
  }
  func data(_ value: AnsibleValue) -> String {
    switch value {
    case .string(let text): return quoted(text)
    case .integer(let number): return String(number)
    case .bool(let flag): return String(flag)
    case .list(let values): return "[" + values.map(data).joined(separator: ", ") + "]"
    case .map(let entries):
      return "{" + entries.keys.sorted().map { "\($0): \(data(entries[$0] ?? .string("")))" }.joined(separator: ", ")
        + "}"
    }
  }
  for variable in spec.variables {
    out.append("var \(variable.name) = \(quoted(variable.value)) from \(variable.source)")
  }
  for machine in spec.machines {
    out.append(
      "machine \(quoted(machine.name)) index=\(machine.index) primary=\(machine.primary) autostart=\(machine.autostart)"
    )
    if let box = machine.box {
      out.append(
        "  box \(quoted(box.name)) version=\(quoted(box.version?.text)) url=\(quoted(box.url)) checksum=\(quoted(box.checksum?.description))"
          + (box.checksumURL.map { " checksum_url=\(quoted($0))" } ?? "")
      )
    }
    out.append(
      "  cpus \(machine.cpus) memory=\(machine.memoryBytes) disk=\(machine.diskBytes.map(String.init) ?? "nil") boot_timeout=\(machine.bootTimeoutSeconds) graceful_halt_timeout=\(machine.gracefulHaltTimeoutSeconds)"
    )
    out.append("  hostname \(quoted(machine.hostname))")
    for volume in machine.volumes {
      out.append(
        "  volume \(quoted(volume.name)) size=\(volume.sizeBytes) bus=\(volume.bus.rawValue)"
          + (volume.keep ? " keep=true" : ""))
    }
    for forward in machine.forwards {
      out.append(
        "  forward \(forward.host)->\(forward.guest) \(forward.transport.rawValue) host_ip=\(forward.hostIP) auto_correct=\(forward.autoCorrect) id=\(quoted(forward.id))"
      )
    }
    for network in machine.networks {
      switch network {
      case .privateNetwork(let ip, let netmask, let prefix):
        out.append(
          "  network private ip=\(quoted(ip)) netmask=\(quoted(netmask))" + (prefix.map { " prefix=\($0)" } ?? ""))
      case .publicNetwork(let bridge): out.append("  network public bridge=\(quoted(bridge))")
      }
    }
    for sync in machine.syncs {
      out.append(
        "  sync \(quoted(sync.source))->\(quoted(sync.destination)) type=\(sync.kind.rawValue) exclude=\(list(sync.exclude)) disabled=\(sync.disabled) owner=\(quoted(sync.owner)) group=\(quoted(sync.group))"
      )
    }
    for provisioner in machine.provisioners {
      let head = "  provision \(quoted(provisioner.name)) run=\(provisioner.run.rawValue) at \(provisioner.location)"
      switch provisioner.kind {
      case .shell(let shell):
        out.append(
          "\(head) shell inline=\(quoted(shell.inline)) path=\(quoted(shell.path)) args=\(list(shell.args)) env=\(map(shell.env)) privileged=\(shell.privileged) upload_path=\(quoted(shell.uploadPath))"
        )
      case .file(let source, let destination):
        out.append("\(head) file \(quoted(source))->\(quoted(destination))")
      case .ansible(let ansible):
        out.append(
          "\(head) ansible playbook=\(quoted(ansible.playbook)) extra_vars=\(data(.map(ansible.extraVars))) extra_vars_file=\(quoted(ansible.extraVarsFile)) inventory=\(quoted(ansible.inventory)) limit=\(quoted(ansible.limit)) tags=\(list(ansible.tags)) skip_tags=\(list(ansible.skipTags)) become=\(ansible.become) verbosity=\(ansible.verbosity) raw_arguments=\(list(ansible.rawArguments))"
        )
        for group in ansible.groups {
          out.append(
            "    group \(group.name) members=\(list(group.members)) children=\(list(group.children)) vars=\(data(.map(group.vars)))"
          )
        }
        for machine in ansible.hostVars.keys.sorted() {
          out.append("    host_vars \(machine) \(data(.map(ansible.hostVars[machine] ?? [:])))")
        }
      case .puppet(let puppet):
        out.append(
          "\(head) puppet manifest=\(quoted(puppet.manifest)) modules=\(quoted(puppet.modules)) facts=\(map(puppet.facts)) options=\(list(puppet.options))"
        )
      }
    }
    for trigger in machine.triggers {
      out.append(
        "  trigger \(trigger.when.rawValue) \(trigger.commands) run=\(quoted(trigger.run)) run_remote=\(quoted(trigger.runRemote)) on_error=\(trigger.onError.rawValue) at \(trigger.location)"
      )
    }
    let ssh = machine.ssh
    out.append(
      "  ssh user=\(quoted(ssh.user)) port=\(ssh.port) private_key=\(quoted(ssh.privateKey)) insert_key=\(ssh.insertKey) forward_agent=\(ssh.forwardAgent) extra_args=\(list(ssh.extraArgs))"
    )
    let libvirt = machine.libvirt
    out.append(
      "  libvirt uri=\(quoted(libvirt.uri)) accel=\(libvirt.accel.rawValue) machine_type=\(quoted(libvirt.machineType)) cpu_mode=\(quoted(libvirt.cpuMode)) firmware=\(libvirt.firmware.rawValue) graphics=\(libvirt.graphics.rawValue) pool=\(quoted(libvirt.pool)) warm=\(libvirt.warm)"
        // Only when set, so the other golden files need not say it.
        + (libvirt.nested ? " nested=true" : "") + (libvirt.secureBoot ? " secure_boot=true" : "")
        + (libvirt.tpm ? " tpm=true" : "")
    )
    // Only when set, so the other golden files need not say it.
    if let cloudInit = machine.cloudInit {
      let userData: String
      switch cloudInit.userData {
      case .file(let path): userData = "user_data=\(quoted(path))"
      case .inline(let text): userData = "inline=\(quoted(text))"
      }
      out.append("  cloud_init \(userData) network_config=\(quoted(cloudInit.networkConfig))")
    }
    out.append((["  used"] + machine.settingsUsed.map { "\($0.name)@\($0.location)" }).joined(separator: " "))
  }
  return out.joined(separator: "\n")
}
