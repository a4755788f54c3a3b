import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

/// `cloud_init`: host files found beside the Machinefile, the kinds of user data cloud-init
/// reads accepted, and the text of `inline:` kept as written.
@Suite struct CloudInitSettingTests {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cloud-init-\(UUID().uuidString)").path

  func write(_ text: String, to name: String) throws {
    let path = folder + "/" + name
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// Loads `Machinefile` (written into the folder) from another current folder.
  func check(_ machinefile: String) throws -> (spec: ProjectSpec?, messages: [String]) {
    try write(machinefile, to: "project/Machinefile")
    let (spec, diagnostics) = try Machinefile.check(path: folder + "/project/Machinefile", environment: [:])
    return (spec, diagnostics.map(\.message))
  }

  @Test func relativePathsStartAtTheMachinefilesFolderNotTheCurrentOne() throws {
    defer { try? FileSystem.removeTree(folder) }
    try write("#cloud-config\npackages: [htop]\n", to: "project/cloud/user.yaml")
    try write("version: 2\n", to: "project/net.yaml")
    let (spec, messages) = try check(
      "cloud_init user_data: \"cloud/user.yaml\", network_config: \"net.yaml\"\n")
    #expect(messages.isEmpty)
    #expect(
      spec?.machines.first?.cloudInit == CloudInitSpec(userData: .file("cloud/user.yaml"), networkConfig: "net.yaml"))
    #expect(FileManager.default.currentDirectoryPath != folder + "/project")
  }

  @Test(arguments: [
    "#!/bin/bash\necho hi\n", "#include\nhttps://example.test/user-data\n", "#cloud-boothook\necho early\n",
    "#part-handler\n", "## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}\n",
    "Content-Type: multipart/mixed; boundary=\"x\"\nMIME-Version: 1.0\n\n--x\n--x--\n",
    "#cloud-config\r\npackages: [htop]\r\n", "#cloud-config\n", "#cloud-config-archive\n- content: x\n",
  ])
  func everyKindOfUserDataCloudInitReadsIsAccepted(text: String) throws {
    defer { try? FileSystem.removeTree(folder) }
    try write(text, to: "project/user-data")
    #expect(try check("cloud_init user_data: \"user-data\"\n").messages == [])
  }

  @Test func inlineTextIsVerbatimLikeAScriptBody() throws {
    defer { try? FileSystem.removeTree(folder) }
    let (spec, messages) = try check(
      """
      machine "web" {
        cloud_init inline: \"\"\"
          #cloud-config
          runcmd:
            - echo "${UNSET_HERE} $$ \\d" > /tmp/${name}
          \"\"\"
      }

      """)
    #expect(messages.isEmpty, "an unset ${…} in a cloud-config is cloud-init's, not an error")
    #expect(
      spec?.machines.first?.cloudInit?.userData
        == .inline("#cloud-config\nruncmd:\n  - echo \"${UNSET_HERE} $$ \\d\" > /tmp/${name}"))
  }

  @Test func aMachinesCloudInitReplacesTheTopLevelsWhole() throws {
    defer { try? FileSystem.removeTree(folder) }
    try write("version: 2\n", to: "project/net.yaml")
    let (spec, _) = try check(
      """
      cloud_init inline: "#!/bin/sh", network_config: "net.yaml"
      machine "a" {}
      machine "b" { cloud_init inline: "#cloud-boothook" }

      """)
    #expect(
      spec?.machines.map(\.cloudInit) == [
        CloudInitSpec(userData: .inline("#!/bin/sh"), networkConfig: "net.yaml"),
        CloudInitSpec(userData: .inline("#cloud-boothook")),
      ])
  }

  @Test func yamlErrorsNameTheLineInTheFileAndInTheMachinefile() throws {
    defer { try? FileSystem.removeTree(folder) }
    try write("#cloud-config\nusers:\n  - name: a\n   bad: b\n", to: "project/user.yaml")
    let messages = try check(
      """
      cloud_init user_data: "user.yaml"
      machine "web" {
        cloud_init inline: \"\"\"
          #cloud-config
          packages: [htop
          \"\"\"
      }

      """
    ).messages
    #expect(messages.count == 2)
    #expect(messages.first?.hasPrefix("the cloud-config in 'user.yaml' is not valid YAML: line 4, column 4:") == true)
    #expect(messages.last?.contains("line 3, column 1 (Machinefile line 6):") == true, "\(messages)")
  }

  @Test func unsetVariablesInAPathAreReportedOnceAsVariables() throws {
    defer { try? FileSystem.removeTree(folder) }
    let messages = try check("cloud_init user_data: \"${CLOUD_DIR}/user.yaml\"\n").messages
    #expect(messages.count == 1)
    #expect(messages.first?.contains("'CLOUD_DIR' is not set") == true, "\(messages)")
  }
}
