// `config.vm.provider :libvirt`: the vagrant-libvirt settings Caravan has. Another
// provider's block is ignored, as vagrant-libvirt ignores it.

import Foundation

extension ScopeReader {
  mutating func readProvider(_ event: ConfigEvent) {
    let provider = event.arguments.first?.text ?? "?"
    guard provider == "libvirt" else {
      report.note(
        event.line, "config.vm.provider \"\(provider)\" block", "not libvirt: ignored, as vagrant-libvirt ignores it")
      return
    }
    for inner in event.block?.events ?? [] {
      if let name = inner.set, let value = inner.value {
        readLibvirtSetting(name, value, line: inner.line)
      } else if inner.call == "storage" {
        readStorage(inner)
      } else {
        drop(inner.line, "libvirt.\(inner.call ?? "?")", "not a vagrant-libvirt setting Caravan has")
      }
    }
  }

  private mutating func readLibvirtSetting(_ name: String, _ value: RubyValue, line: Int) {
    let what = "libvirt.\(name)"
    switch name {
    case "memory":
      guard let mebibytes = value.integer else { return drop(line, "\(what) = \(value.shown)", "it must be MiB") }
      let size = mebibytes % 1024 == 0 ? "\(mebibytes / 1024)GiB" : "\(mebibytes)MiB"
      add(Setting("memory", [.unit(size)], line: line))
    case "cpus":
      guard let cpus = value.integer else { return drop(line, "\(what) = \(value.shown)", "it must be a number") }
      add(Setting("cpus", [.integer(cpus)], line: line))
    case "machine_virtual_size":
      guard let gibibytes = value.integer else { return drop(line, "\(what) = \(value.shown)", "it must be GB") }
      add(Setting("disk", [.unit("\(gibibytes)GiB")], line: line))
    case "nested":
      if let flag = value.bool { add(Setting("libvirt.nested", [.bool(flag)], line: line)) }
    case "cpu_mode", "machine_type", "uri":
      if let text = value.text { add(Setting("libvirt.\(name)", [.text(text)], line: line)) }
    case "storage_pool_name":
      if let text = value.text { add(Setting("libvirt.pool", [.text(text)], line: line)) }
    case "graphics_type":
      guard let type = value.text, ["none", "vnc", "spice"].contains(type) else {
        return drop(line, "\(what) = \(value.shown)", "Caravan's graphics are none, vnc or spice")
      }
      add(Setting("libvirt.graphics", [.word(type)], line: line))
    case "driver":
      guard let driver = value.text, let accel = ["kvm": "kvm", "qemu": "tcg"][driver] else {
        return drop(line, "\(what) = \(value.shown)", "Caravan's accelerators are kvm and qemu (tcg)")
      }
      add(Setting("libvirt.accel", [.word(accel)], line: line))
    default:
      drop(line, what, "not a vagrant-libvirt setting Caravan has")
    }
  }

  /// `storage :file, size: "20G", bus: "virtio", device: "vdb"`: an extra disk.
  private mutating func readStorage(_ event: ConfigEvent) {
    guard event.arguments.first?.text == "file", event.option("device")?.text != "cdrom" else {
      return drop(
        event.line, "libvirt.storage \(event.arguments.first?.shown ?? "")",
        "Caravan's extra disks are files (storage :file)")
    }
    volumeCount += 1
    let name = event.option("device")?.text ?? "disk\(volumeCount)"
    let size = event.option("size").map(Convert.plainText) ?? "10G"
    guard let written = StorageSize.written(size) else {
      return drop(event.line, "libvirt.storage size \(size)", "not a size Caravan reads (like 20G)")
    }
    var setting = Setting("volume", [.text(name)], options: [("size", .unit(written))], line: event.line)
    for entry in callOptions(event) {
      switch entry.key {
      case "size", "device", "type":
        break
      case "bus":
        guard let bus = entry.value.text, ["virtio", "scsi", "sata"].contains(bus) else {
          drop(event.line, "libvirt.storage bus \(entry.value.shown)", "Caravan's buses are virtio, scsi and sata")
          continue
        }
        setting.setOption("bus", .word(bus))
      default:
        drop(event.line, "libvirt.storage option \(entry.key)", "not an option of Caravan's volume")
      }
    }
    add(setting)
  }
}

/// vagrant-libvirt sizes (`20G`, `512M`, `1T`; a bare number is G) as Machinefile sizes.
enum StorageSize {
  static func written(_ text: String) -> String? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let digits = trimmed.prefix { $0.isNumber }
    guard let number = Int(digits), number > 0 else { return nil }
    var unit = trimmed.dropFirst(digits.count).uppercased()
    for suffix in ["IB", "B"] where unit.hasSuffix(suffix) { unit = String(unit.dropLast(suffix.count)) }
    switch unit {
    case "": return "\(number)GiB"
    case "K", "M", "G", "T": return "\(number)\(unit)iB"
    default: return nil
    }
  }
}
