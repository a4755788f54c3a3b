import Foundation
import Testing

@testable import Builder

/// The stock templates in templates/, rendered by Caravan's renderer with the values a
/// Boxfile gives, pass their own installers' checkers.
@Suite struct StockTemplateTests {
  static let top = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  static func render(_ relative: String, _ extra: [String: String]) throws -> String {
    let path = top + "/templates/" + relative
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let values = [
      "http_ip": "10.0.2.2", "http_port": "8123", "user": "vagrant", "password": "vagrant", "hostname": "box",
      "name": "caravan/box", "version": "1.0.0",
    ].merging(extra) { _, own in own }
    return try TemplateRenderer.render(text, file: path, values: values)
  }

  static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// pykickstart's checker: from the venv `scripts/install-deps.sh` makes, else the PATH's.
  static var ksvalidator: String {
    let venv = top + "/.build-tools/venv/bin/ksvalidator"
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "ksvalidator"
  }

  @Test func theAlmaLinuxKickstartPassesKsvalidatorForRHEL9() throws {
    let rendered = try StockTemplateTests.render(
      "kickstart/almalinux-9.ks", ["mirror": "https://repo.almalinux.org/almalinux/9/BaseOS/x86_64/os/"])
    #expect(!rendered.contains("{{"))
    // ksvalidator leaves its preprocessed copy (tmpXXXX-ks.cfg) in TMPDIR: a folder removed afterwards.
    let folder = NSTemporaryDirectory() + "caravan-ks-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let file = folder + "/ks.cfg"
    let validate = ["TMPDIR=" + folder, StockTemplateTests.ksvalidator, "-v", "RHEL9", file]
    try rendered.write(toFile: file, atomically: true, encoding: .utf8)
    let result = try StockTemplateTests.run(validate)
    #expect(result.status == 0, "ksvalidator (scripts/install-deps.sh puts it in .build-tools/venv): \(result.output)")
    // A broken line is caught: the check can fail.
    try (rendered + "\nbootloader --no-such-option\n").write(toFile: file, atomically: true, encoding: .utf8)
    #expect(try StockTemplateTests.run(validate).status != 0)
  }

  @Test func theDebianPreseedIsValidDebconfAndAnswersTheQuestionsAsked() throws {
    let rendered = try StockTemplateTests.render(
      "preseed/debian-12.cfg", ["mirror_host": "deb.debian.org", "mirror_dir": "/debian", "mirror_proxy": ""])
    let file = NSTemporaryDirectory() + "caravan-preseed-\(getpid()).cfg"
    try rendered.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let result = try StockTemplateTests.run(["debconf-set-selections", "-c", file])
    #expect(result.status == 0, "\(result.output)")
    for answer in [
      "netcfg/get_hostname string box", "passwd/username string vagrant", "mirror/http/hostname string deb.debian.org",
      "debian-installer/exit/poweroff boolean true",
    ] {
      #expect(rendered.contains(answer), "\(answer)")
    }
  }
}
