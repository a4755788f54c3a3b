// The installer and iso strategies: a build VM boots the installer (kernel and initrd with
// the rendered templates injected, or an ISO with `boot_command` typed), the install runs
// to its power-off, then the disk boots on its own for SSH and postinstall, and is shut
// down. The build's HTTP server serves the rendered templates and `http_dir` throughout.

import Foundation
import Host
import LibvirtDriver
import SSH
import Spec
import Support

struct VMStrategy {
  let spec: BuildSpec
  let work: String
  let log: BuildLog
  let hypervisor: LibvirtHypervisor
  let domainName: String
  /// The whole build's deadline.
  let deadline: Date
  let httpPort: Int
  let sources: SourceCache
  let lockPath: String

  var consoleLog: String { hypervisor.consoleLogPath(domain: domainName) }

  /// Runs the install and postinstall; returns the qcow2 disk.
  func run(postinstall: (PostinstallTarget) throws -> Void) throws -> String {
    // A boot_command that cannot be typed is refused before anything starts.
    let actions = spec.strategy == .iso ? try BootCommand.parse(spec.bootCommand) : []
    let disk = work + "/disk.qcow2"
    try HostTools(log: log).run(
      ["qemu-img", "create", "-q", "-f", "qcow2", disk, String(spec.diskBytes)], step: "creating the disk")
    try? FileManager.default.removeItem(atPath: consoleLog)
    let choice = try hypervisor.chooseAccelerator(.auto)
    log.step(
      "vm",
      "build VM \(domainName), console log \(consoleLog); accelerator \(choice.accelerator.rawValue): \(choice.reason)")
    let sshPort = try VMStrategy.freePort()
    func plan(_ boot: BuildDomain.Boot) -> BuildDomain {
      var domain = BuildDomain(
        name: domainName, accelerator: choice.accelerator, cpus: spec.cpus, memoryMiB: spec.memoryBytes >> 20,
        disk: disk, boot: boot, sshPort: sshPort, consoleLog: consoleLog)
      domain.lockPath = lockPath
      domain.workFolder = work
      return domain
    }
    switch spec.strategy {
    case .installer:
      let kernel = try sources.local(spec.kernel, what: "kernel", into: work)
      let initrd = try inject(into: try sources.local(spec.initrd, what: "initrd", into: work))
      var cmdline = spec.kernelArgs
      if !cmdline.contains("console=") { cmdline += (cmdline.isEmpty ? "" : " ") + "console=ttyS0,115200n8" }
      log.step("install", "booting the installer kernel: \(cmdline)")
      try hypervisor.startBuildDomain(plan(.kernel(kernel: kernel, initrd: initrd, cmdline: cmdline)))
    case .iso:
      let iso = try sources.local(spec.iso, what: "iso", into: work)
      log.step("install", "booting \(iso)")
      try hypervisor.startBuildDomain(plan(.cdrom(iso: iso)))
      try type(actions)
    case .rootfs:
      throw CaravanError(.internalError, "the rootfs strategy has no installer VM")
    }
    try waitForPowerOff(what: "the install", deadline: deadline)
    log.step("install", "the installer powered off; booting the installed disk")
    try hypervisor.startBuildDomain(plan(.disk))
    let target = try SSHTarget.connect(
      spec: spec, port: sshPort, log: log, deadline: deadline, keyDirectory: work + "/keys",
      controlPath: work + "/ssh.ctl",
      running: { try hypervisor.buildDomainRunning(domainName) }, consoleTail: { consoleTail() })
    try postinstall(target)
    log.step("shutdown", "powering the build VM off")
    target.powerOff()
    do {
      try waitForPowerOff(what: "the shutdown", deadline: min(deadline, Date().addingTimeInterval(120)))
    } catch {
      if Interrupt.process.requested { throw error }
      log.step("shutdown", "the guest did not power off in 120 s; pulling the plug")
    }
    try hypervisor.removeBuildDomain(domainName)
    return disk
  }

  // MARK: Installer: the templates injected into the initrd

  /// A copy of the initrd with a newc cpio archive of the rendered templates appended
  /// (gzip-compressed): the kernel unpacks both, so `/preseed.cfg` or `/ks.cfg` is there.
  private func inject(into initrd: String) throws -> String {
    let injected = work + "/initrd.injected"
    try? FileManager.default.removeItem(atPath: injected)
    try FileManager.default.copyItem(atPath: initrd, toPath: injected)
    // It will hold the rendered templates (the build's password): QEMU's user alone reads
    // it (libvirt gives the initrd to that user for the run).
    chmod(injected, 0o600)
    var files: [(String, Data)] = []
    for template in spec.templates {
      guard let data = FileManager.default.contents(atPath: work + "/http/" + template.name) else { continue }
      files.append((template.name, data))
    }
    guard !files.isEmpty else { return injected }
    let compressed = try gzipData(CPIO.newc(files))
    guard let handle = FileHandle(forWritingAtPath: injected) else {
      throw FileSystem.ioError("append the templates to the initrd", injected)
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: compressed)
    log.step(
      "install",
      "injected \(files.map { "/" + $0.0 }.joined(separator: ", ")) into the initrd (a cpio archive appended)")
    return injected
  }

  private func gzipData(_ data: Data) throws -> Data {
    let input = work + "/inject.cpio"
    try FileSystem.writeAtomically(data, to: input, mode: 0o600)
    defer { try? FileManager.default.removeItem(atPath: input) }
    try Subprocess(["gzip", "-n", "-f", input]).checked(step: "compressing the injected archive")
    defer { try? FileManager.default.removeItem(atPath: input + ".gz") }
    guard let compressed = FileManager.default.contents(atPath: input + ".gz") else {
      throw FileSystem.ioError("read", input + ".gz")
    }
    return compressed
  }

  // MARK: ISO: boot_command

  private func type(_ actions: [BootAction]) throws {
    log.step("boot_command", "waiting boot_wait \(spec.bootWaitMilliseconds) ms, then typing \(actions.count) actions")
    try Interrupt.process.sleep(Double(spec.bootWaitMilliseconds) / 1000)
    for action in actions {
      switch action {
      case .press(let codes):
        try hypervisor.sendKeys(domain: domainName, codes)
        // QEMU queues keys; a short gap keeps a slow guest from losing or doubling them.
        try Interrupt.process.sleep(0.05)
      case .wait(let milliseconds):
        try Interrupt.process.sleep(Double(milliseconds) / 1000)
      }
      if Date() > deadline { throw timeout("typing the boot_command") }
    }
    log.step("boot_command", "typed")
  }

  // MARK: Waiting

  private func waitForPowerOff(what: String, deadline: Date) throws {
    var lastShown = ""
    while try hypervisor.buildDomainRunning(domainName) {
      if Date() > deadline { throw timeout("waiting for \(what) to power off") }
      let tail = consoleTail()
      if tail != lastShown {
        lastShown = tail
        log.status("console: " + tail)
      } else {
        log.status("waiting for \(what) to power off; console: " + tail)
      }
      try Interrupt.process.sleep(1)
    }
  }

  func timeout(_ during: String) -> CaravanError {
    let limit = spec.timeoutMilliseconds / 1000
    return CaravanError(
      .timeout, "the build of \(spec.name) ran out of its timeout (\(limit) s) while \(during)",
      hint: "The guest's console log is \(consoleLog); its last line: \(consoleTail())\n"
        + "Raise `timeout` in \(spec.file), or run with --on-error keep to look at the VM.")
  }

  /// The console log's last non-empty line, without terminal escapes.
  func consoleTail() -> String {
    guard let handle = FileHandle(forReadingAtPath: consoleLog) else { return "(no console output yet)" }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
    let data = (try? handle.readToEnd()) ?? Data()
    let text = String(decoding: data, as: UTF8.self)
    let cleaned = text.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
    // By scalars: "\r\n" is one Character, and a console writes both kinds of line ends.
    let lines = cleaned.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
      .map { String(String.UnicodeScalarView($0)).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    return lines.last.map { String($0.prefix(200)) } ?? "(no console output yet)"
  }

  static func freePort() throws -> Int {
    for port in (2250...2400).shuffled() where PortAllocator.canBind(.tcp, "127.0.0.1", port) { return port }
    throw CaravanError(.conflict, "no free port on 127.0.0.1 between 2250 and 2400 for the build VM's SSH")
  }
}
