import Boxes
import Foundation
import Host
import Machinefile
import Spec
import Support
import TestSupport
import Testing

@testable import Core

/// `up` adds a missing image box as `box add` does: an image index name with
/// no url:, or a url: with checksum_url:. The image is a real qcow2 served on
/// 127.0.0.1; the hypervisor is the fake.
@Suite(.serialized)
struct ImageBoxUpTests {
  let root = NSTemporaryDirectory() + "caravan-imageup-\(UUID().uuidString)"
  var served: String { root + "/served" }

  func serve() throws -> BoxServer {
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    let made = try Subprocess([
      "sh", "-c",
      "set -e; cd '\(served)'; qemu-img create -q -f qcow2 cloud.qcow2 32M; sha512sum cloud.qcow2 > SHA512SUMS; printf 'x' > other; sha512sum other > OTHERSUMS",
    ]).run()
    try #require(made.status == 0, "\(made)")
    return try BoxServer(root: served)
  }

  func lifecycle(_ machinefile: String, index: String? = nil) throws -> (Lifecycle, FakeHypervisor, CollectingReporter)
  {
    let spec = try Machinefile.load(source: machinefile, fileName: "Machinefile", environment: [:])
    let project = Project(root: root + "/project", machinefilePath: root + "/project/Machinefile", spec: spec)
    var environment = ["CARAVAN_HOME": root + "/home"]
    environment["CARAVAN_IMAGE_INDEX"] = index
    let hypervisor = FakeHypervisor()
    let reporter = CollectingReporter()
    let guest = FakeGuest()
    let lifecycle = Lifecycle(
      project: project, hypervisor: hypervisor, communicators: FakeFactory(guest: guest),
      provisioners: RecordingProvisioner(guest: guest), boxes: BoxStore(root: root + "/home/boxes"),
      reporter: reporter, environment: environment)
    lifecycle.host = FakeHost()
    return (lifecycle, hypervisor, reporter)
  }

  @Test func anImageIndexNameIsAddedOnUp() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let server = try serve()
    defer { server.stop() }
    let index = root + "/index.json"
    try
      #"{"version": 1, "images": [{"name": "test/cloud", "arch": "\#(ImageIndex.hostArch)", "url": "\#(server.base)/cloud.qcow2", "checksum_url": "\#(server.base)/SHA512SUMS"}]}"#
      .write(toFile: index, atomically: true, encoding: .utf8)
    let (lifecycle, hypervisor, reporter) = try lifecycle("box \"test/cloud\"\n", index: index)
    try lifecycle.up(lifecycle.project.spec.machines, provision: nil)
    #expect(reporter.lines.contains { $0.contains("box 'test/cloud' is not installed; adding it from test/cloud") })
    let box = try #require(try lifecycle.boxes.list().first)
    #expect(box.name == "test/cloud" && box.metadata.image?.indexName == "test/cloud")
    #expect(box.metadata.image?.checksumURL == server.base + "/SHA512SUMS")
    #expect(hypervisor.calls.contains("import test/cloud"), "\(hypervisor.calls)")
  }

  @Test func aURLWithAChecksumFileIsCheckedOnUp() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let server = try serve()
    defer { server.stop() }
    let wrongFile = "box \"plain\", url: \"\(server.base)/cloud.qcow2\", checksum_url: \"\(server.base)/OTHERSUMS\"\n"
    let (refused, hypervisor, _) = try lifecycle(wrongFile)
    let error = try #require(throws: CaravanError.self) {
      try refused.up(refused.project.spec.machines, provision: nil)
    }
    #expect(error.message == "the checksum file \(server.base)/OTHERSUMS has no line for 'cloud.qcow2'")
    #expect(hypervisor.calls.isEmpty)
    #expect(try refused.boxes.list().isEmpty)

    let (lifecycle, _, _) = try lifecycle(wrongFile.replacingOccurrences(of: "OTHERSUMS", with: "SHA512SUMS"))
    try lifecycle.up(lifecycle.project.spec.machines, provision: nil)
    let box = try #require(try lifecycle.boxes.list().first)
    #expect(box.name == "plain" && box.metadata.image?.checksum.hasPrefix("sha512:") == true)
  }
}
