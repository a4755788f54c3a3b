// `caravan build`: runs one Boxfile from nothing to a `.box` (and its catalog entry):
// the strategy makes a disk, postinstall configures it, qemu-img compacts it, Boxes packs it.
// Whatever the build made is removed when it fails, unless `--on-error keep`.

import Boxes
import Foundation
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
  public init(cacheDirectory: String, uri: String) {
    self.cacheDirectory = cacheDirectory
    self.uri = uri
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
  let spec: BuildSpec
  let options: BuildOptions
  let log: BuildLog
  private var timings: [(String, Double)] = []
  private var stepStarted = Date()

  public init(spec: BuildSpec, options: BuildOptions, log: BuildLog = BuildLog()) {
    self.spec = spec
    self.options = options
    self.log = log
  }

  /// Records the time spent since the last mark under `step`.
  func mark(_ step: String) {
    timings.append((step, Date().timeIntervalSince(stepStarted)))
    stepStarted = Date()
  }

  public func run() throws -> BuildResult {
    try checkOutput()
    let work = try makeWorkDirectory()
    log.step("build", "\(spec.name) \(spec.version), strategy \(spec.strategy.rawValue), work folder \(work)")
    var keep = false
    defer { if !keep { try? FileSystem.removeTree(work) } }
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
        throw CaravanError(
          .invalidInput, "strategy \(spec.strategy.rawValue) is not available in this build of caravan",
          hint: "Use strategy rootfs.")
      }
      let result = try package(disk: disk, work: work)
      return result
    } catch {
      if options.onError == .keep {
        keep = true
        log.step("build", "failed; kept the work folder \(work) (--on-error keep)")
      }
      throw error
    }
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
    let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
    var template = Array((base + "/caravan-build.XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw FileSystem.ioError("create a work folder in", base) }
    let path = String(cString: made)
    // libvirt's QEMU (another user) reads the build's disk, kernel and ISO from here.
    chmod(path, 0o755)
    return path
  }

  /// qemu-img convert (sparse, compressed when asked), the box archive, the catalog entry.
  func package(disk: String, work: String) throws -> BuildResult {
    let tools = HostTools(log: log)
    let image = work + "/box.img"
    log.step("compact", "qemu-img convert to qcow2\(spec.output.compress ? ", compressed" : "")")
    let format = disk.hasSuffix(".raw") ? "raw" : "qcow2"
    try tools.run(
      ["qemu-img", "convert", "-f", format, "-O", "qcow2"] + (spec.output.compress ? ["-c"] : []) + [disk, image],
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
