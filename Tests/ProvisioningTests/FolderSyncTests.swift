import Core
import Foundation
import Spec
import Support
import Testing

@testable import Provisioning

/// rsync's arguments and `-e` command, run by the host's real rsync: paths with spaces,
/// quotes, `$`, backticks and newlines reach rsync (and the files) as data, never
/// through a shell; and the guest scripts take their values as arguments.
struct FolderSyncTests {
  static let hostile = ["a b", "$(touch pwned)", "; rm -rf x", "new\nline", "*", "ünï", "`id`", "'q\"", "-n"]

  let root: String

  init() throws {
    root = try FileSystem.makeTemporaryDirectory(prefix: "caravan-sync-test")
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

  func write(_ text: String, _ path: String, mode: mode_t = 0o755) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, mode)
  }

  static let shell = RemoteShell(
    arguments: ["ssh", "-p", "2222", "-o", "IdentityFile=\"/k ey/id's $HOME\"", "-o", "ControlPath=/run/c%%"],
    destination: "vagrant@127.0.0.1")

  @Test func argumentsCarryExcludesOwnerDeletionAndTheSharedSSHCommand() {
    let args = FolderSync.rsyncArguments(
      source: "/p/site", destination: "/srv/site", shell: FolderSyncTests.shell, owner: "www-data", group: "adm",
      exclude: [".git", "node_modules/"])
    #expect(args.first == "rsync")
    for flag in [
      "--archive", "--delete", "--protect-args", "--chown=www-data:adm", "--rsync-path=sudo -n rsync",
      "--exclude=.git", "--exclude=node_modules/",
    ] {
      #expect(args.contains(flag), "\(flag) in \(args)")
    }
    #expect(args.suffix(2) == ["/p/site/", "vagrant@127.0.0.1:/srv/site/"])
    let e = try? #require(args.firstIndex(of: "-e"))
    #expect(e.map { args[$0 + 1] } == FolderSync.remoteShellCommand(FolderSyncTests.shell.arguments))
  }

  /// rsync splits `-e` itself; a recorder in place of ssh shows the words it got.
  @Test(arguments: hostile)
  func theSSHCommandReachesTheRemoteShellWordForWord(word: String) throws {
    defer { cleanUp() }
    let recorder = root + "/bin dir " + word + "/recorder"
    let record = root + "/record"
    try write("#!/bin/sh\nprintf '%s\\0' \"$@\" > \"$RECORD\"\nexit 1\n", recorder)
    let words = [recorder, "-o", "IdentityFile=" + word, "-p", "2222", word]
    let args = FolderSync.rsyncArguments(
      source: root, destination: "/d", shell: RemoteShell(arguments: words, destination: "u@127.0.0.1"),
      owner: "u", group: "u", exclude: [])
    _ = try Subprocess(args, environment: ["RECORD": record, "PATH": "/usr/bin:/bin"]).run()
    let got = try #require(FileManager.default.contents(atPath: record))
    let recorded = got.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
      String(decoding: $0, as: UTF8.self)
    }
    #expect(Array(recorded.prefix(words.count - 1)) == Array(words.dropFirst()), "\(recorded)")
  }

  /// A whole copy with the real rsync on both ends, the "guest" reached through a
  /// stand-in for ssh that runs the remote command as sshd does (one shell string):
  /// hostile folder names arrive exactly, excludes stay out, deletions follow.
  @Test(arguments: hostile)
  func aCopyWithHostileNamesArrivesExactlyAndDeletionsFollow(name: String) throws {
    defer { cleanUp() }
    let fakeSSH = root + "/bin/fake-ssh"
    try write(
      """
      #!/bin/sh
      while [ "$#" -gt 0 ] && [ "$1" != 127.0.0.1 ]; do shift; done
      shift
      exec sh -c "$*"
      """, fakeSSH)
    let source = root + "/src " + name
    try write("one\n", source + "/" + name, mode: 0o640)
    try write("two\n", source + "/sub " + name + "/keep")
    try write("secret\n", source + "/skip.log")
    let destination = root + "/guest/dst " + name + "/deeper"
    try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
    let owner = String(cString: getpwuid(getuid()).pointee.pw_name)
    let group = String(cString: getgrgid(getgid()).pointee.gr_name)
    var args = FolderSync.rsyncArguments(
      source: source, destination: destination,
      shell: RemoteShell(arguments: [fakeSSH, "-p", "22"], destination: "u@127.0.0.1"), owner: owner, group: group,
      exclude: ["*.log"])
    // No sudo on this host: the stand-in guest runs rsync as this user.
    args = args.map { $0.hasPrefix("--rsync-path=") ? "--rsync-path=rsync" : $0 }
    let environment = ["PATH": "/usr/bin:/bin", "HOME": root]
    let first = try Subprocess(args, environment: environment).run()
    #expect(first.status == 0, "\(first.stderr)")
    #expect(FileManager.default.contents(atPath: destination + "/" + name) == Data("one\n".utf8))
    #expect(FileManager.default.contents(atPath: destination + "/sub " + name + "/keep") == Data("two\n".utf8))
    #expect(!FileManager.default.fileExists(atPath: destination + "/skip.log"))
    let mode = try FileManager.default.attributesOfItem(atPath: destination + "/" + name)[.posixPermissions] as? Int
    #expect(mode == 0o640)

    try FileManager.default.removeItem(atPath: source + "/" + name)
    let second = try Subprocess(args, environment: environment).run()
    #expect(second.status == 0, "\(second.stderr)")
    #expect(!FileManager.default.fileExists(atPath: destination + "/" + name))
    #expect(FileManager.default.fileExists(atPath: destination + "/sub " + name + "/keep"))
    #expect(!FileManager.default.fileExists(atPath: root + "/pwned"))
    #expect(!FileManager.default.fileExists(atPath: "pwned"))
  }

  /// `--delete` removes what the host no longer has, but never a `.ssh` folder of the
  /// destination (at its top or deeper): a sync cannot take the login user's keys.
  @Test func deletionNeverReachesAuthorizedKeys() throws {
    defer { cleanUp() }
    let fakeSSH = root + "/bin/fake-ssh"
    try write(
      """
      #!/bin/sh
      while [ "$#" -gt 0 ] && [ "$1" != 127.0.0.1 ]; do shift; done
      shift
      exec sh -c "$*"
      """, fakeSSH)
    let source = root + "/src"
    try write("app\n", source + "/app.txt")
    let destination = root + "/guest/home/vagrant"
    for path in [".ssh/authorized_keys", "deep/er/.ssh/authorized_keys", "stale.txt", "deep/stale.txt"] {
      try write("old\n", destination + "/" + path, mode: 0o600)
    }
    let owner = String(cString: getpwuid(getuid()).pointee.pw_name)
    let group = String(cString: getgrgid(getgid()).pointee.gr_name)
    let args = FolderSync.rsyncArguments(
      source: source, destination: destination,
      shell: RemoteShell(arguments: [fakeSSH, "-p", "22"], destination: "u@127.0.0.1"), owner: owner, group: group,
      exclude: []
    ).map { $0.hasPrefix("--rsync-path=") ? "--rsync-path=rsync" : $0 }
    #expect(args.contains("--filter=P .ssh/"), "\(args)")
    let run = try Subprocess(args, environment: ["PATH": "/usr/bin:/bin", "HOME": root]).run()
    #expect(run.status == 0, "\(run.stderr)")
    let exists = { FileManager.default.fileExists(atPath: destination + "/" + $0) }
    #expect(exists("app.txt"))
    #expect(!exists("stale.txt") && !exists("deep/stale.txt"), "--delete still deletes")
    #expect(exists(".ssh/authorized_keys") && exists("deep/er/.ssh/authorized_keys"))
  }

  /// The guest's preparation, run here by /bin/sh (with a `sudo` that only drops `-n`):
  /// the destination is made whatever its name, the group is printed, a missing owner is 3.
  @Test(arguments: hostile)
  func thePreparationMakesAnyDestinationAndNamesTheGroup(name: String) throws {
    defer { cleanUp() }
    try write("#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n", root + "/bin/sudo")
    let environment = ["PATH": root + "/bin:/usr/bin:/bin", "HOME": root]
    let owner = String(cString: getpwuid(getuid()).pointee.pw_name)
    let destination = root + "/d " + name + "/x"
    let made = try Subprocess(
      ["/bin/sh", "-c", FolderSync.prepareCommand(destination: destination, owner: owner, group: nil)],
      environment: environment
    ).run()
    #expect(made.status == 0, "\(made.stderr)")
    #expect(made.stdout == String(cString: getgrgid(getgid()).pointee.gr_name) + "\n")
    var isDirectory: ObjCBool = false
    #expect(FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory) && isDirectory.boolValue)
    let unknown = try Subprocess(
      ["/bin/sh", "-c", FolderSync.prepareCommand(destination: destination, owner: "no such " + name, group: "g")],
      environment: environment
    ).run()
    #expect(unknown.status == 3)
    #expect(!FileManager.default.fileExists(atPath: root + "/pwned"))
  }

  @Test func theMountCommandPassesTagAndDestinationAsArguments() {
    var folder = SyncSpec(source: "./data", destination: "/srv/it's $(here)")
    folder.kind = .ninep
    let command = FolderSync.mountCommand(folder)
    #expect(
      command.hasSuffix(
        " caravan-mount \(shellQuote(FolderSync.tag(folder))) \(shellQuote(folder.destination)) '9p' 'trans=virtio,version=9p2000.L,msize=262144'"
      ))
    #expect(FolderSync.tag(folder).count <= 36)
    #expect(FolderSync.tag(folder).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
  }

  @Test func virtiofsWithoutAVirtiofsdIsRefusedNamingWhatIsMissing() throws {
    defer { cleanUp() }
    func find(_ environment: [String: String], places: [String]) throws -> String {
      try FolderSync.findVirtiofsd(environment: environment, places: places) { CaravanError(.notFound, $0) }
    }
    let none = root + "/none"
    #expect {
      try find(["PATH": none], places: [none + "/virtiofsd"])
    } throws: { "\($0)".contains("none was found (looked on PATH and at \(none)/virtiofsd)") }
    #expect {
      try find(["CARAVAN_VIRTIOFSD": none + "/v", "PATH": "/usr/bin"], places: [])
    } throws: { "\($0)".contains("CARAVAN_VIRTIOFSD names '\(none)/v', which is not an executable file") }
    try write("#!/bin/sh\n", root + "/bin/virtiofsd")
    #expect(try find(["PATH": root + "/bin"], places: []) == root + "/bin/virtiofsd")
    #expect(try find(["PATH": none], places: [none, root + "/bin/virtiofsd"]) == root + "/bin/virtiofsd")

    // The machine's error names it, the folder and the fix.
    var folder = SyncSpec(source: "./fs", destination: "/srv/fs")
    folder.kind = .virtiofs
    var machine = MachineSpec(name: "web")
    machine.syncs = [folder]
    try FileManager.default.createDirectory(atPath: root + "/fs", withIntermediateDirectories: true)
    let sync = FolderSync(environment: ["CARAVAN_VIRTIOFSD": none + "/v", "PATH": none])
    #expect {
      try sync.preflight(machine, projectRoot: root)
    } throws: { error in
      let text = "\(error)"
      return text.contains("machine 'web': the synced folder './fs -> /srv/fs (virtiofs)' needs virtiofsd")
        && text.contains("`type: 9p`") && text.contains("`type: rsync`")
    }
  }

  @Test func aMissingSourceFolderIsRefusedBeforeAnythingIsMade() {
    defer { cleanUp() }
    var machine = MachineSpec(name: "web")
    machine.syncs = [SyncSpec(source: "./nope", destination: "/srv")]
    #expect {
      try FolderSync(environment: ["PATH": "/usr/bin:/bin"]).preflight(machine, projectRoot: root)
    } throws: { "\($0)".contains("machine 'web': the synced folder './nope' is not a folder on the host") }
  }
}
