import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

private func check(_ source: String, vars: [String: String] = [:], env: [String: String] = [:], port: Int = 0)
  -> (spec: BuildSpec?, messages: [String])
{
  let (spec, diagnostics) = Boxfile.check(
    source: source, path: "/work/boxes/deb/Boxfile", shownAs: "boxes/deb/Boxfile", variables: vars,
    environment: env, httpPort: port)
  return (spec, diagnostics.map(\.message))
}

private let installer = """
  version 1
  var mirror, default: "http://deb.debian.org/debian"

  build "caravan/debian-12", version: "12.0.${BUILD_NUMBER:-0}" {
    strategy installer
    from kernel: "/usr/lib/di/linux",
         initrd: "di/initrd.gz", checksum: {kernel: "sha256:\(String(repeating: "a", count: 64))"}
    template "../../templates/preseed/debian-12.cfg", as: "preseed.cfg"
    kernel_args "auto=true preseed/url=http://${http_ip}:${http_port}/preseed.cfg name=${name} v=${version}"
    cpus 2
    memory 2GiB
    disk 8GiB
    ssh { user "vagrant"; password "vagrant" }
    postinstall shell, path: "../../templates/scripts/vagrant.sh"
    postinstall shell, inline: "apt-get clean", name: "clean"
    postinstall file, source: "files", destination: "/etc/app"
    output "out/debian-12.box", format: v1, compress: true, catalog: "out/catalog.json"
    timeout 90m
  }
  """

@Suite struct BoxfileTests {
  @Test func theSpecExampleLowersToABuildSpec() throws {
    let (spec, messages) = check(installer, env: ["BUILD_NUMBER": "7"], port: 8123)
    #expect(messages.isEmpty)
    let build = try #require(spec)
    #expect(build.name == "caravan/debian-12")
    #expect(build.version == "12.0.7")
    #expect(build.strategy == .installer)
    #expect(build.kernel?.location == "/usr/lib/di/linux")
    #expect(build.kernel?.checksum?.hex == String(repeating: "a", count: 64))
    #expect(build.initrd?.location == "/work/boxes/deb/di/initrd.gz")
    #expect(build.templates == [BuildSpec.Template(path: "/work/templates/preseed/debian-12.cfg", name: "preseed.cfg")])
    #expect(
      build.kernelArgs
        == "auto=true preseed/url=http://10.0.2.2:8123/preseed.cfg name=caravan/debian-12 v=12.0.7")
    #expect(build.cpus == 2 && build.memoryBytes == 2 << 30 && build.diskBytes == 8 << 30)
    #expect(build.ssh.user == "vagrant" && build.ssh.password == "vagrant")
    #expect(build.postinstall.map(\.name) == ["shell-1", "clean", "file-3"])
    if case .shell(let shell) = build.postinstall[0].kind {
      #expect(shell.path == "/work/templates/scripts/vagrant.sh")
    } else {
      Issue.record("first step is not shell")
    }
    #expect(build.postinstall[2].kind == .file(source: "/work/boxes/deb/files", destination: "/etc/app"))
    #expect(build.output.path == "/work/boxes/deb/out/debian-12.box")
    #expect(build.output.compress && build.output.format == .v1)
    #expect(build.output.catalog == "/work/boxes/deb/out/catalog.json")
    #expect(build.timeoutMilliseconds == 90 * 60 * 1000)
    #expect(build.variables == ["mirror": "http://deb.debian.org/debian"])
  }

  @Test func varsResolveFromTheCommandLineThenDefaultThenEnvironment() throws {
    let source = """
      var mirror, default: "http://default/"
      var proxy
      build "me/box", version: "1.0" {
        strategy rootfs
        from suite: "bookworm", mirror: "${mirror}", packages: ["${proxy}"]
        output "x.box"
      }
      """
    let fromEnvironment = try #require(check(source, env: ["proxy": "envproxy", "mirror": "envmirror"]).spec)
    #expect(fromEnvironment.mirror == "http://default/")
    #expect(fromEnvironment.packages == ["envproxy"])
    let given = try #require(check(source, vars: ["mirror": "http://given/", "proxy": "p"]).spec)
    #expect(given.mirror == "http://given/")
    #expect(
      check(source).messages == [
        "var 'proxy' has no value: give it one with `--var proxy=VALUE`, a `default:`, or the environment variable proxy",
        "environment variable 'proxy' is not set; set it or write ${proxy:-default} to give a default",
      ])
  }

  @Test func eachStrategySaysWhatItNeeds() {
    #expect(
      check("build \"me/b\", version: \"1\" {\n strategy iso\n output \"b.box\"\n}").messages == [
        "build \"me/b\" needs `from iso:` for the iso strategy, e.g. `from iso: \"debian.iso\", checksum: \"sha256:…\"`",
        "build \"me/b\" needs a boot_command for the iso strategy, e.g. `boot_command [\"<esc>install<enter>\"]`",
      ])
    #expect(
      check("build \"me/b\", version: \"1\" {\n strategy installer\n from iso: \"x.iso\"\n output \"b.box\"\n}")
        .messages.first?.hasPrefix("build \"me/b\" needs `from kernel:` and `initrd:`") == true)
    #expect(
      check("build \"me/b\", version: \"1\" {\n strategy rootfs\n from suite: \"bookworm\"\n}").messages
        == ["build \"me/b\" needs an output, e.g. `output \"out/box.box\"`"])
  }

  @Test func mistakesAreNamedWithTheirPlace() {
    let (_, messages) = check(
      """
      build "me/b", version: "1.x" {
        strategy rootsf
        from suite: "bookworm"
        boot_wiat 5s
        postinstall ansible, playbook: "p.yml"
        output "b.box", format: v3
      }
      cpus 2
      """)
    #expect(
      messages == [
        "'version:' of 'build' must be dotted numbers like \"12.0.3\", got \"1.x\"",
        "unknown value 'rootsf' for 'strategy'; did you mean 'rootfs'?",
        "unknown setting 'boot_wiat' in build \"me/b\"; did you mean 'boot_wait'?",
        "'postinstall' runs shell or file steps, not ansible; write `postinstall shell, inline: \"…\"`",
        "unknown value 'v3' for 'format:' of 'output'; did you mean 'v1'?",
        "unknown statement 'cpus' at top level of a Boxfile; it belongs inside the 'build' block",
      ])
    #expect(
      check("version 1\nvar x, default: \"1\"").messages == [
        "a Boxfile needs a 'build' block, e.g. `build \"me/debian-12\", version: \"1.0.0\" { strategy rootfs … }`"
      ])
  }

  @Test func aBoxfileIsToldFromAMachinefile() {
    #expect(Boxfile.isBoxfile(path: "/x/Boxfile", source: ""))
    #expect(Boxfile.isBoxfile(path: "/x/recipe", source: "version 1\nbuild \"a\", version: \"1\" {}"))
    #expect(!Boxfile.isBoxfile(path: "/x/Machinefile", source: "version 1\nbox \"a\""))
  }

  @Test func theStockBoxfilesAreValid() throws {
    let top = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
    let sha = String(repeating: "a", count: 64)
    let given = ["iso_sha256": sha, "kernel_sha256": sha, "initrd_sha256": sha]
    var strategies: Set<BuildSpec.Strategy> = []
    for name in try FileManager.default.contentsOfDirectory(atPath: top + "/boxes").sorted() {
      let path = top + "/boxes/" + name + "/Boxfile"
      guard FileManager.default.fileExists(atPath: path) else { continue }
      let (spec, diagnostics) = try Boxfile.check(path: path, variables: given, environment: [:])
      #expect(diagnostics.isEmpty, "\(name): \(diagnostics.map(\.message))")
      if let spec {
        strategies.insert(spec.strategy)
        for template in spec.templates {
          #expect(FileManager.default.fileExists(atPath: template.path), "\(name): \(template.path)")
        }
        for step in spec.postinstall {
          if case .shell(let shell) = step.kind, let script = shell.path {
            #expect(FileManager.default.fileExists(atPath: script), "\(name): \(script)")
          }
        }
      }
    }
    #expect(strategies == Set(BuildSpec.Strategy.allCases), "a stock Boxfile for each strategy")
  }
}
