// `caravan build`: runs one Boxfile from nothing to a `.box` (and its catalog entry):
// the strategy makes a disk, postinstall configures it, qemu-img compacts it, Boxes packs it.
// Whatever the build made is removed when it fails, unless `--on-error keep`.

import Boxes
import Foundation
import LibvirtDriver
import Spec
import Support

public struct BuildOptions: Sendable {
  public enum OnError: String, Sendable, CaseIterable { case abort, keep }
  public var onError: OnError = .abort
  /// Replace an existing output file.
  public var force = false
  /// Where downloaded `from` files are cached by checksum.
  public var cacheDirectory: String
  /// libvirt connection for VM strategies.
  public var uri: String
  /// `$CARAVAN_HOME/locks`: one lock per Boxfile, so two builds of it never overlap.
  public var lockDirectory: String
  public init(cacheDirectory: String, uri: String, lockDirectory: String) {
    self.cacheDirectory = cacheDirectory
    self.uri = uri
    self.lockDirectory = lockDirectory
  }
}

public struct BuildResult: Sendable {
  public var box: String
  public var sha256: String
  public var bytes: UInt64
  public var catalog: String?
  /// Seconds per step, in order, for `bench/build.sh`.
  public var timings: [(step: String, seconds: Double)]
}

public final class BoxBuild {
  private(set) var spec: BuildSpec
  let options: BuildOptions
  let log: BuildLog
  /// Loads the Boxfile again once the HTTP server's port is known (`${http_port}`).
  let reload: (Int) throws -> BuildSpec
  private var timings: [(String, Double)] = []
  private var stepStarted = Date()

  public init(
    spec: BuildSpec, options: BuildOptions, log: BuildLog = BuildLog(), reload: ((Int) throws -> BuildSpec)? = nil
  ) {
    self.spec = spec
    self.options = options
    self.log = log
    self.reload = reload ?? { _ in spec }
  }

  /// Records the time spent since the last mark under `step`.
  func mark(_ step: String) {
    timings.append((step, Date().timeIntervalSince(stepStarted)))
    stepStarted = Date()
  }

  /// Names this Boxfile's lock, work-folder note and build VM.
  var key: String { StableHash.hex(spec.file, length: 12) }

  public func run() throws -> BuildResult {
    // What the strategy needs of the host (root, for rootfs), before anything is made.
    if spec.strategy == .rootfs { try RootfsStrategy.checkHost() }
    let lock = try FileLock(
      path: options.lockDirectory + "/build-\(key).lock", wait: false,
      busy: CaravanError(
        .conflict, "another `caravan build` of \(spec.file) is running",
        hint: "Wait for it to finish; two builds of one Boxfile would share its build VM and output."))
    defer { lock.unlock() }
    // A build of this Boxfile that was killed left its work folder (and perhaps mounts in it).
    let note = options.lockDirectory + "/build-\(key).work"
    if let data = FileManager.default.contents(atPath: note), let old = String(data: data, encoding: .utf8),
      old.hasPrefix("/") && FileSystem.exists(old)
    {
      log.step("build", "removing \(old), left by an earlier build of this Boxfile that did not finish")
      WorkFolder.remove(old)
    }
    try checkOutput()
    let work = try makeWorkDirectory()
    try FileSystem.writeAtomically(Data(work.utf8), to: note, mode: 0o644)
    log.step("build", "\(spec.name) \(spec.version), strategy \(spec.strategy.rawValue), work folder \(work)")
    var keep = false
    defer {
      if !keep {
        WorkFolder.remove(work)
        try? FileManager.default.removeItem(atPath: note)
      }
    }
    do {
      let disk: String
      switch spec.strategy {
      case .rootfs:
        disk = try RootfsStrategy(spec: spec, work: work, log: log).run { chroot in
          mark("rootfs")
          try Postinstall(spec: spec, log: log).run(on: chroot)
          mark("postinstall")
        }
        mark("disk")
      case .installer, .iso:
        disk = try runVM(work: work, keep: &keep)
      }
      // A safe point before packaging: Ctrl-C stops here rather than write a box.
      try Interrupt.process.check()
      let result = try package(disk: disk, work: work)
      return result
    } catch {
      if options.onError == .keep {
        keep = true
        log.step("build", "failed; kept the work folder \(work) (--on-error keep)")
      }
      guard Interrupt.process.requested else { throw error }
      throw interrupted(work: work, kept: keep, cause: error)
    }
  }

  /// An interrupted build (Ctrl-C, SIGTERM): what it left, as on a failure.
  func interrupted(work: String, kept: Bool, cause: Error) -> CaravanError {
    let left =
      kept
      ? "its work folder \(work) (and its build VM, if it ran) are kept (--on-error keep)"
      : "its build VM and work folder are removed"
    return CaravanError(
      .interrupted,
      "interrupted: the build of \(spec.name) \(spec.version) stopped; \(left), and no box was written to \(spec.output.path)",
      hint: "`caravan build` starts it again from the beginning.", cause: cause)
  }

  /// The installer and iso strategies: the HTTP server for the whole build, the templates
  /// rendered, the VM run; the VM is removed on failure unless `--on-error keep`.
  private func runVM(work: String, keep: inout Bool) throws -> String {
    let deadline = Date().addingTimeInterval(Double(spec.timeoutMilliseconds) / 1000)
    let served = try BoxBuild.makeServedFolder(in: work)
    let log = self.log
    let server = BuildHTTPServer(roots: [served] + [spec.httpDirectory].compactMap { $0 }) { line in
      log.detail("http: " + line)
    }
    let port = try waitFor { try await server.start() }
    defer { waitFor { await server.stop() } }
    spec = try reload(Int(port))
    log.step(
      "http",
      "serving \(served)\(spec.httpDirectory.map { " and " + $0 } ?? "") on 127.0.0.1:\(port) (the guest's http://${http_ip}:${http_port} = http://10.0.2.2:\(port))"
    )
    try renderTemplates(into: served, port: Int(port))
    let hypervisor = try LibvirtHypervisor(uri: options.uri, lockDirectory: options.lockDirectory)
    let name = "caravan-build-" + key
    // Holding this Boxfile's lock, a build VM of its name is a killed build's: remove it.
    try? hypervisor.removeBuildDomain(name)
    sweepKilledBuilds(hypervisor)
    let strategy = VMStrategy(
      spec: spec, work: work, log: log, hypervisor: hypervisor, domainName: name, deadline: deadline,
      httpPort: Int(port), sources: SourceCache(directory: options.cacheDirectory, log: log),
      lockPath: options.lockDirectory + "/build-\(key).lock")
    do {
      let disk = try strategy.run { target in
        mark("install")
        try Postinstall(spec: spec, log: log).run(on: target)
        mark("postinstall")
      }
      mark("shutdown")
      return disk
    } catch {
      if options.onError == .keep, (try? hypervisor.buildDomainRunning(name)) == true {
        keep = true
        try? hypervisor.markBuildDomainKept(name, workFolder: work)
        log.step(
          "build",
          "failed; the build VM '\(name)' is left running (--on-error keep): `virsh -c \(options.uri) console \(name)`; "
            + "its console log is \(strategy.consoleLog); remove it with `virsh -c \(options.uri) destroy \(name)` "
            + "and `virsh -c \(options.uri) undefine \(name)`, and the work folder \(work)")
      } else {
        try? hypervisor.removeBuildDomain(name)
      }
      throw error
    }
  }

  /// Build VMs of other Boxfiles whose build was killed (the lock they recorded is free):
  /// removed with their work folders, so a `kill -9` never leaves a VM running for good.
  private func sweepKilledBuilds(_ hypervisor: LibvirtHypervisor) {
    for found in (try? hypervisor.buildDomains()) ?? [] where !found.lock.isEmpty {
      // A lock file that is gone (its CARAVAN_HOME removed) has no build holding it either.
      let held = FileSystem.exists(found.lock) ? try? FileLock(path: found.lock, wait: false) : nil
      if FileSystem.exists(found.lock) && held == nil { continue }
      log.step("build", "removing the build VM \(found.name), left by a build that was killed")
      try? hypervisor.removeBuildDomain(found.name)
      if found.work.hasPrefix("/"), (found.work as NSString).lastPathComponent.hasPrefix("caravan-build.") {
        WorkFolder.remove(found.work)
      }
      held?.unlock()
    }
  }

  /// The folder the rendered templates go in (they hold the build's password): 0700,
  /// only Caravan's user reads it; the HTTP server serves it, the initrd gets a copy.
  static func makeServedFolder(in work: String) throws -> String {
    let served = work + "/http"
    try FileSystem.makeDirectory(served, mode: 0o700)
    chmod(served, 0o700)
    return served
  }

  /// Each `template` rendered into the served folder (and so into the initrd), 0600.
  func renderTemplates(into folder: String, port: Int) throws {
    let values = templateValues(port: port)
    for template in spec.templates {
      guard let data = FileManager.default.contents(atPath: template.path) else {
        throw CaravanError(
          .notFound, "the template \(template.path) cannot be read", hint: "Check `template` in \(spec.file).")
      }
      let rendered = try TemplateRenderer.render(
        String(decoding: data, as: UTF8.self), file: template.path, values: values)
      let target = folder + "/" + template.name
      try FileSystem.makeDirectory((target as NSString).deletingLastPathComponent, mode: 0o700)
      try FileSystem.writeAtomically(Data(rendered.utf8), to: target, mode: 0o600)
      log.step("template", "\(template.path) rendered as \(template.name)")
    }
  }

  /// The values of the templates' placeholders: every `var`, then the names of
  /// `TemplateRenderer.builtInNames` (which `TemplateCheck` checks against).
  func templateValues(port: Int) -> [String: String] {
    var values = spec.variables
    values["http_ip"] = "10.0.2.2"
    values["http_port"] = String(port)
    values["user"] = spec.ssh.user
    values["password"] = spec.ssh.password ?? ""
    values["hostname"] = hostname(spec)
    values["name"] = spec.name
    values["version"] = spec.version
    return values
  }

  private func checkOutput() throws {
    let output = spec.output.path
    if FileSystem.exists(output) && !options.force {
      throw CaravanError(
        .conflict, "the box file \(output) already exists",
        hint: "Run again with --force to replace it, or change `output` in \(spec.file).")
    }
    let folder = (output as NSString).deletingLastPathComponent
    try FileSystem.makeDirectory(folder)
  }

  /// A private folder beside nothing the user owns: `$TMPDIR` or /var/tmp (large images).
  private func makeWorkDirectory() throws -> String {
    let path = try FileSystem.makeTemporaryDirectory(prefix: "caravan-build")
    // libvirt's QEMU (another user) reads the build's disk, kernel and ISO from here.
    chmod(path, 0o755)
    return path
  }

  /// qemu-img convert (sparse, compressed when asked), the box archive, the catalog entry.
  /// Compression is qcow2's zstd (QEMU 5.1 or later reads it): about 6 times faster than
  /// zlib here and a little smaller; 8 requests in flight, written out of order, use every core.
  func package(disk: String, work: String) throws -> BuildResult {
    let tools = HostTools(log: log)
    let image = work + "/box.img"
    log.step("compact", "qemu-img convert to qcow2\(spec.output.compress ? ", compressed (zstd)" : "")")
    let format = disk.hasSuffix(".raw") ? "raw" : "qcow2"
    try tools.run(
      ["qemu-img", "convert", "-f", format, "-O", "qcow2", "-m", "8", "-W"]
        + (spec.output.compress ? ["-c", "-o", "compression_type=zstd"] : []) + [disk, image],
      step: "qemu-img convert")
    try? FileManager.default.removeItem(atPath: disk)
    mark("compact")
    log.step("package", "\(spec.output.format.rawValue) box \(spec.output.path)")
    let written = try BoxPackager.write(
      disk: image, virtualBytes: spec.diskBytes, format: spec.output.format == .v1 ? .v1 : .v2, boxName: spec.name,
      to: spec.output.path)
    var catalog: String?
    if let path = spec.output.catalog {
      let fileName = (spec.output.path as NSString).lastPathComponent
      let url: String
      if let base = spec.output.url {
        url = base.hasSuffix("/") ? base + fileName : base + "/" + fileName
      } else {
        url = URL(fileURLWithPath: spec.output.path).absoluteString
      }
      try BoxPackager.writeCatalogEntry(
        path: path, name: spec.name, version: spec.version, url: url, sha256: written.sha256)
      catalog = path
    }
    mark("package")
    let megabytes = Double(written.bytes) / 1_048_576
    log.step(
      "build",
      String(format: "wrote %@ (%.0f MiB, sha256 %@) in %@", written.path, megabytes, written.sha256, log.elapsed))
    if let catalog { log.detail("catalog entry for \(spec.name) \(spec.version) in \(catalog)") }
    return BuildResult(
      box: written.path, sha256: written.sha256, bytes: written.bytes, catalog: catalog,
      timings: timings.map { (step: $0.0, seconds: $0.1) })
  }
}

/// Runs async work from the build's synchronous flow.
func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
  let semaphore = DispatchSemaphore(value: 0)
  let outcome = Guarded<Result<T, Error>?>(nil)
  Task {
    let result: Result<T, Error>
    do { result = .success(try await body()) } catch { result = .failure(error) }
    outcome.withLock { $0 = result }
    semaphore.signal()
  }
  semaphore.wait()
  guard let result = outcome.withLock({ $0 }) else {
    preconditionFailure("the task signalled before it set its result")
  }
  return try result.get()
}

func waitFor(_ body: @escaping @Sendable () async -> Void) {
  _ = try? waitFor { () async throws -> Int in
    await body()
    return 0
  }
}

/// Removing a build's work folder safely: a build killed during its chroot step leaves
/// /proc, /sys and /dev mounted inside it, and loop devices on its disk image; those are
/// undone first, and the folder is left alone if anything is still mounted in it.
enum WorkFolder {
  static func remove(_ path: String) {
    let prefix = path.hasSuffix("/") ? path : path + "/"
    if let loops = try? Subprocess(["losetup", "-n", "-O", "NAME,BACK-FILE"]).run() {
      for line in loops.stdout.split(separator: "\n") {
        let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
        if fields.count == 2, fields[1].trimmingCharacters(in: .whitespaces).hasPrefix(prefix) {
          _ = try? Subprocess(["losetup", "-d", fields[0]]).run()
        }
      }
    }
    func mounted() -> [String] {
      let table = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
      return table.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count > 1 else { return nil }
        let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
        return point.hasPrefix(prefix) ? point : nil
      }.sorted { $0.count > $1.count }
    }
    for point in mounted() { _ = try? Subprocess(["umount", "-l", point]).run() }
    guard mounted().isEmpty else { return }
    try? FileSystem.removeTree(path)
  }
}
