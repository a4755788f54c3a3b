import Foundation
import TestSupport
import Testing

/// Debian's real netboot installer (debian-installer-12-netboot-amd64) booted by
/// `caravan build` with the stock preseed injected, its mirror reached only through an
/// apt-cacher-ng this test starts on 127.0.0.1 (the guest reaches it as 10.0.2.2). The
/// package registry reachable here serves `.deb`s but answers 404 for every installer
/// `.udeb`, so the install stops at "Download installer components": the test proves
/// from the proxy's log and the console that the installer read Caravan's preseed,
/// answered every question before that point from it, and reached the mirror through
/// the proxy; then the build's timeout ends it and nothing is left.
@Suite(
  .guestSlot(minutes: 30),
  .enabled(
    if: Harness.enabled && ProcessInfo.processInfo.environment["CARAVAN_E2E_DEBIAN_INSTALLER"] == "1"
      && FileManager.default.fileExists(
        atPath: "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/initrd.gz")
      && FileManager.default.fileExists(atPath: "/usr/sbin/apt-cacher-ng"),
    "run by `make test-installer` (needs debian-installer-12-netboot-amd64 and apt-cacher-ng)"))
struct DebianInstallerTests {
  static let top = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test func theStockPreseedDrivesTheRealInstallerUpToTheMirrorsUdebs() throws {
    let h = try Harness(name: "debian-installer")
    defer { h.cleanUp() }
    // apt-cacher-ng on a free loopback port, with its own configuration, cache and log.
    let proxy = h.root + "/acng"
    for folder in ["conf", "cache", "log"] {
      try FileManager.default.createDirectory(atPath: proxy + "/" + folder, withIntermediateDirectories: true)
    }
    _ = try h.run(["sh", "-c", "cp -r /etc/apt-cacher-ng/. '\(proxy)/conf/'"])
    try "http://deb.debian.org/debian/\n".write(
      toFile: proxy + "/conf/backends_debian", atomically: true, encoding: .utf8)
    // apt-cacher-ng 3.7 here cannot bind a port above 9999 ("Error resolving address for
    // binding"): one near its default, not in use.
    let listening = try h.run(["ss", "-ltnH"]).stdout
    guard let port = (3143...3199).shuffled().first(where: { !listening.contains(":\($0) ") }) else {
      Issue.record("no free port for apt-cacher-ng in 3143...3199")
      return
    }
    let settings = [
      "BindAddress: 127.0.0.1", "Port:\(port)", "CacheDir: \(proxy)/cache", "LogDir: \(proxy)/log",
      "PidFile: \(proxy)/pid", "SocketPath: \(proxy)/socket", "ForeGround: 1", "ExThreshold: 0",
    ]
    try (settings.joined(separator: "\n") + "\n").write(
      toFile: proxy + "/conf/zz_caravan_test.conf", atomically: true, encoding: .utf8)
    let acng = Process()
    acng.executableURL = URL(fileURLWithPath: "/usr/sbin/apt-cacher-ng")
    acng.arguments = ["-c", proxy + "/conf"]
    acng.standardOutput = FileHandle.nullDevice
    acng.standardError = FileHandle.nullDevice
    try acng.run()
    defer {
      // apt-cacher-ng does not always end on SIGTERM in foreground mode: kill it by its own folder.
      acng.terminate()
      _ = try? Harness.exec(["pkill", "-9", "-f", proxy + "/conf"], in: "/", environment: [:])
    }

    // The stock Boxfile's build with a short timeout: the stock preseed, injected.
    let stock = try String(
      contentsOfFile: DebianInstallerTests.top + "/boxes/debian-12-installer/Boxfile", encoding: .utf8)
    let boxfile = stock.replacingOccurrences(of: "../../templates", with: DebianInstallerTests.top + "/templates")
      .replacingOccurrences(of: "timeout 90m", with: "timeout 12m")
    try h.write(boxfile, to: "di/Boxfile")
    let build = try h.caravan(
      "build", "di", "--var", "mirror_proxy=http://10.0.2.2:\(port)", "--var", "output=\(h.root)/di.box", in: h.root)
    #expect(build.status == 1, "\(build)")
    #expect(build.stdout.contains("injected /preseed.cfg into the initrd"), "\(build)")
    #expect(
      build.stderr.contains("ran out of its timeout (720 s) while waiting for the install to power off"), "\(build)")
    #expect(!FileManager.default.fileExists(atPath: h.root + "/di.box"))
    #expect(try BuildEndToEndTests.vmGone(build.stdout), "\(build)")

    // The mirror was reached through the proxy: the archive's Release, then the one kind of
    // file this registry does not serve (an installer .udeb), answered 404.
    let log = (try? String(contentsOfFile: proxy + "/log/apt-cacher.log", encoding: .utf8)) ?? ""
    let errors = (try? String(contentsOfFile: proxy + "/log/apt-cacher.err", encoding: .utf8)) ?? ""
    #expect(log.contains("dists/bookworm/Release") || log.contains("dists/bookworm/InRelease"), "\(log)\n\(errors)")
    #expect((log + errors).contains(".udeb"), "a .udeb was asked for: \(log)\n\(errors)")
    // The console: no question was asked before the mirror (language, keyboard, host
    // name, mirror country all preseeded); the installer stopped at its components.
    if let path = BuildEndToEndTests.consoleLog(of: build.stdout) {
      let console = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      for question in ["Select a language", "Choose a language", "Configure the keyboard", "Please enter the hostname"]
      {
        #expect(!console.contains(question), "asked '\(question)': \(console.suffix(3000))")
      }
      #expect(console.localizedCaseInsensitiveContains("installer components"), "\(console.suffix(3000))")
    } else {
      Issue.record("the timeout error names no console log: \(build)")
    }
  }
}
