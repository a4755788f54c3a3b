import Core
import Foundation
import Spec
import Support
import Testing

@testable import LibvirtDriver

/// The build VM's domain: an installer kernel, an ISO, then the installed disk alone.
struct BuildDomainTests {
  static func sample(_ boot: BuildDomain.Boot, accelerator: Accelerator = .tcg) -> BuildDomain {
    var domain = BuildDomain(
      name: "caravan-build-debian-12-1a2b3c", accelerator: accelerator, cpus: 2, memoryMiB: 2048,
      disk: "/home/dev/box & co/.caravan-build/disk.qcow2", boot: boot, sshPort: 40022,
      consoleLog: "/home/dev/box & co/.caravan-build/console.log")
    domain.lockPath = "/home/dev/box & co/.caravan-build.lock"
    domain.workFolder = "/home/dev/box & co/.caravan-build"
    return domain
  }

  static let samples: [(String, BuildDomain)] = [
    (
      "build-kernel.xml",
      sample(.kernel(kernel: "/work/linux", initrd: "/work/initrd.gz", cmdline: "auto=true console=ttyS0,115200n8"))
    ),
    ("build-cdrom.xml", sample(.cdrom(iso: "/work/installer.iso"), accelerator: .kvm)),
    ("build-disk.xml", sample(.disk)),
  ]

  @Test func buildDomainsMatchTheGoldenFiles() throws {
    for (golden, domain) in BuildDomainTests.samples {
      #expect(domain.xml == (try DomainDefinitionTests.golden(golden)), "\(golden)")
    }
  }

  @Test func libvirtsSchemaAcceptsTheBuildDomains() throws {
    for (golden, domain) in BuildDomainTests.samples {
      let path = NSTemporaryDirectory() + "caravan-\(getpid())-\(golden)"
      try domain.xml.write(toFile: path, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let result = try Subprocess(["virt-xml-validate", path, "domain"]).run()
      #expect(result.status == 0, "\(golden): \(result.stdout)\(result.stderr)")
    }
  }
}
