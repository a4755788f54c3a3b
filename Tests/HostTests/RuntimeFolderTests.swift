import Foundation
import Support
import Testing

@testable import Host

/// The runtime folder (SSH control sockets, ports.lock) is used only when it
/// is this user's own, private directory.
@Suite(.serialized)
struct RuntimeFolderTests {
  /// A short XDG_RUNTIME_DIR (socket paths are short), with `caravan` in it as the runtime folder.
  let base = "/tmp/crt-\(UUID().uuidString.prefix(8))"
  var folder: String { base + "/caravan" }
  var environment: [String: String] { ["XDG_RUNTIME_DIR": base] }

  init() throws {
    try FileManager.default.createDirectory(
      atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: base) }

  func mode(_ path: String) throws -> mode_t {
    var info = stat()
    try #require(lstat(path, &info) == 0)
    return info.st_mode & 0o7777
  }

  @Test func aMissingFolderIsMadePrivate() throws {
    defer { cleanUp() }
    #expect(try CaravanPaths.runtime(environment: environment) == folder)
    #expect(try mode(folder) == 0o700)
    #expect(try CaravanPaths.runtime(environment: environment) == folder, "and is used again")
  }

  @Test func oneOfOursThatOthersMayOnlyReadIsNarrowed() throws {
    defer { cleanUp() }
    try #require(mkdir(folder, 0o755) == 0 && chmod(folder, 0o755) == 0)
    _ = try CaravanPaths.runtime(environment: environment)
    #expect(try mode(folder) == 0o700)
  }

  @Test func aFolderOthersMayWriteIntoIsRefused() throws {
    defer { cleanUp() }
    try #require(mkdir(folder, 0o700) == 0 && chmod(folder, 0o777) == 0)
    let error = try #require(throws: CaravanError.self) { try CaravanPaths.runtime(environment: environment) }
    #expect(
      error.message
        == "the runtime folder '\(folder)' has mode 0777: other users may write into it; Caravan will not use it")
    #expect(error.hint?.contains("rm -rf \(folder)") == true)
    #expect(error.hint?.contains("XDG_RUNTIME_DIR") == true)
    #expect(try mode(folder) == 0o777, "left as it was")
  }

  @Test(.enabled(if: getuid() == 0, "needs root to give a folder away"))
  func aFolderOfAnotherUserIsRefused() throws {
    defer { cleanUp() }
    try #require(mkdir(folder, 0o700) == 0 && chown(folder, 65534, 65534) == 0)
    let error = try #require(throws: CaravanError.self) { try CaravanPaths.runtime(environment: environment) }
    #expect(
      error.message
        == "the runtime folder '\(folder)' belongs to uid 65534, not to you (uid 0), mode 0700; Caravan will not use it"
    )
    #expect(error.hint?.contains("XDG_RUNTIME_DIR") == true)
  }

  @Test func aSymbolicLinkIsRefusedEvenToAGoodFolder() throws {
    defer { cleanUp() }
    let target = base + "/elsewhere"
    try #require(mkdir(target, 0o700) == 0)
    try #require(symlink(target, folder) == 0)
    let error = try #require(throws: CaravanError.self) { try CaravanPaths.runtime(environment: environment) }
    #expect(error.message.hasPrefix("the runtime folder '\(folder)' is a symbolic link"))
  }

  @Test func aFileIsRefused() throws {
    defer { cleanUp() }
    try #require(FileManager.default.createFile(atPath: folder, contents: Data()))
    let error = try #require(throws: CaravanError.self) { try CaravanPaths.runtime(environment: environment) }
    #expect(error.message.hasPrefix("the runtime folder '\(folder)' is not a directory"))
  }

  @Test func withoutXDGRuntimeDirItIsTmpCaravanUID() throws {
    defer { cleanUp() }
    #expect(try CaravanPaths.runtime(environment: [:]) == "/tmp/caravan-\(getuid())")
  }
}
