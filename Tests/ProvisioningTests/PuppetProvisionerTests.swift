import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// The puppet provisioner's steps in the guest (through `RecordingGuest`), and its
/// `puppet apply` command run here by /bin/sh as the guest's login shell would run it.
struct PuppetProvisionerTests {
  static let folder = "/tmp/caravan-puppet-site.Ab3dE6gH9k"
  static let hostile = [
    "a b", "it's", #"say "hi""#, "$HOME", "$(touch pwned)", "`id`", "; rm -rf x", "line one\nline two", "*", "",
    "ünï", "-n",
  ]

  func provisioner(_ puppet: PuppetProvisioner, name: String = "site") -> ProvisionerSpec {
    ProvisionerSpec(name: name, kind: .puppet(puppet), location: SourceLocation(line: 4, column: 1))
  }

  /// A project with manifests/site.pp and modules/motd/manifests/init.pp.
  func project() throws -> TemporaryFolder {
    let folder = try TemporaryFolder()
    try FileSystem.makeDirectory(folder.path + "/manifests")
    try FileSystem.makeDirectory(folder.path + "/modules/motd/manifests")
    try FileSystem.writeAtomically(Data("include motd\n".utf8), to: folder.path + "/manifests/site.pp")
    try FileSystem.writeAtomically(
      Data("class motd { }\n".utf8), to: folder.path + "/modules/motd/manifests/init.pp")
    return folder
  }

  func guest(status: Int32 = 0) -> RecordingGuest {
    let guest = RecordingGuest(mktemp: ["Welcome", Self.folder], scriptStatus: status)
    guest.answers = [
      (PuppetApply.findCommand, ["/usr/bin/puppet"]), ("sh -c \(shellQuote(GuestProvisioner.placeScript))", []),
    ]
    return guest
  }

  var site: PuppetProvisioner {
    var puppet = PuppetProvisioner()
    puppet.manifest = "manifests/site.pp"
    puppet.modules = "modules"
    puppet.facts = ["role": "web server"]
    puppet.options = ["--verbose"]
    return puppet
  }

  @Test func theManifestAndModulesGoToAFreshFolderThatIsRemovedAfter() throws {
    let project = try project()
    let guest = guest(status: 2)  // 2: changes were made, a success
    let reporter = RecordingReporter()
    try GuestProvisioner().run(
      provisioner(site), machine: MachineSpec(name: "web"), projectRoot: project.path, on: guest, reporter: reporter)
    let folder = Self.folder
    #expect(guest.steps.count == 8, "\(guest.steps)")
    #expect(guest.steps.first == "execute " + PuppetApply.findCommand)
    #expect(guest.steps.dropFirst().first == "execute mktemp -d '/tmp/caravan-puppet-site.XXXXXXXXXX'")
    #expect(guest.steps.filter { $0 == "upload \(folder)/.upload.tar" }.count == 2)
    #expect(guest.steps.contains { $0.contains("'\(folder)/manifests/site.pp' '\(folder)/.upload.tar' 'file'") })
    #expect(guest.steps.contains { $0.contains("'\(folder)/modules' '\(folder)/.upload.tar' 'folder'") })
    #expect(
      guest.steps.dropLast().last
        == "execute cd '\(folder)' && sudo -n -H env 'FACTER_role=web server' '/usr/bin/puppet' 'apply' "
        + "'--detailed-exitcodes' '--color=false' '--modulepath' '\(folder)/modules' '--verbose' '\(folder)/manifests/site.pp'; s=$?; sync; exit $s"
    )
    #expect(
      guest.steps.last == "execute sudo -n rm -rf -- '\(folder)' 2>/dev/null || rm -rf -- '\(folder)'")
    #expect(reporter.details == ["web: script output"])
  }

  @Test func aGuestWithoutPuppetIsToldWhatToInstall() throws {
    let project = try project()
    // Nothing on PATH, nothing in /opt/puppetlabs/bin: the lookup prints no path.
    let guest = RecordingGuest(mktemp: [Self.folder], scriptStatus: 1)
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(site), machine: MachineSpec(name: "web"), projectRoot: project.path, on: guest,
        reporter: RecordingReporter())
    }
    #expect(
      error?.message
        == "puppet provisioner 'site' of machine 'web': the guest has no Puppet (no `puppet` in the login user's PATH or in /opt/puppetlabs/bin)"
    )
    #expect(error?.hint?.contains("Debian package `puppet`: apt-get install puppet") == true)
    #expect(guest.steps == ["execute " + PuppetApply.findCommand], "nothing is uploaded")
  }

  @Test(arguments: [(4, "some resources failed"), (6, "some resources changed and some failed")])
  func failedResourcesFailTheProvisionerAndTheFolderStillGoes(status: Int32, meaning: String) throws {
    let project = try project()
    let guest = guest(status: status)
    let error = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(site), machine: MachineSpec(name: "web"), projectRoot: project.path, on: guest,
        reporter: RecordingReporter())
    }
    #expect(
      error?.message
        == "puppet provisioner 'site' of machine 'web' failed: puppet apply exited with status \(status) (\(meaning))")
    #expect(error?.hint == "Its last lines:\n  script output\nFix the manifest and run `caravan provision web`.")
    #expect(guest.steps.last?.hasPrefix("execute sudo -n rm -rf -- '\(Self.folder)'") == true)
  }

  @Test func exitStatusesWithDetailedExitcodes() {
    #expect(PuppetApply.succeeded(0) && PuppetApply.succeeded(2))
    #expect(!PuppetApply.succeeded(1) && !PuppetApply.succeeded(4) && !PuppetApply.succeeded(6))
    var puppet = site
    puppet.options = ["--detailed-exitcodes", "--noop", "--color", "true"]
    let command = PuppetApply.command(
      puppet: "/p", folder: "/f", manifest: "m.pp", modules: false, facts: [:], options: puppet.options)
    #expect(
      command
        == "cd '/f' && sudo -n -H env '/p' 'apply' '--detailed-exitcodes' '--noop' '--color' 'true' '/f/manifests/m.pp'; s=$?; sync; exit $s"
    )
  }

  @Test func aMissingManifestAndABadFactNameAreNamedBeforeTheGuestIsAsked() throws {
    let project = try project()
    var puppet = site
    puppet.manifest = "manifests/default.pp"
    let guest = guest()
    let missing = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(puppet), machine: MachineSpec(name: "web"), projectRoot: project.path, on: guest,
        reporter: RecordingReporter())
    }
    #expect(
      missing?.message
        == "puppet provisioner 'site' of machine 'web': manifest 'manifests/default.pp' not found (looked at \(project.path)/manifests/default.pp)"
    )
    puppet = site
    puppet.facts = ["bad name": "x"]
    let bad = #expect(throws: CaravanError.self) {
      try GuestProvisioner().run(
        provisioner(puppet), machine: MachineSpec(name: "web"), projectRoot: project.path, on: guest,
        reporter: RecordingReporter())
    }
    #expect(
      bad?.message
        == "puppet provisioner 'site' of machine 'web': fact name 'bad name' cannot be given to puppet as FACTER_bad name"
    )
    #expect(guest.steps.isEmpty)
  }

  /// Facts and options with quotes, `$`, backticks, newlines and blanks reach puppet as
  /// written, through a `sudo` that checks its options and a `puppet` that prints what it got.
  @Test func hostileFactsAndOptionsArriveAsData() async throws {
    let folder = try TemporaryFolder()
    _ = try folder.script("sudo", #"[ "$1" = -n ] && [ "$2" = -H ] || exit 99; shift 2; exec "$@""#)
    let facts = Dictionary(uniqueKeysWithValues: Self.hostile.enumerated().map { ("f\($0.offset)", $0.element) })
    let names = facts.keys.sorted()
    let puppet = try folder.script(
      "puppet", "printf '%s\\0' " + names.map { "\"$FACTER_\($0)\"" }.joined(separator: " ") + #" "$PWD" "$@""#)
    let command = PuppetApply.command(
      puppet: puppet, folder: folder.path, manifest: "it's a.pp", modules: true, facts: facts,
      options: Self.hostile)
    let fields = try await folder.fields(of: command, path: folder.path)
    #expect(
      fields
        == names.map { facts[$0] ?? "" } + [
          folder.path, "apply", "--detailed-exitcodes", "--color=false", "--modulepath",
          folder.path + "/modules",
        ] + Self.hostile + [folder.path + "/manifests/it's a.pp"])
    #expect(!FileSystem.exists(folder.path + "/pwned") && !FileSystem.exists("pwned"))
  }
}
