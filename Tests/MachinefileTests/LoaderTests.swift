import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

private func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("machinefile-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

@Suite struct LoaderTests {
  @Test func findsInTheDirectoryThenParents() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let nested = root.appendingPathComponent("a/b/c")
    try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
    let outside = Machinefile.find(from: nested.path, environment: [:])
    #expect(outside.map { !$0.hasPrefix(root.path) } ?? true)

    try "cpus 1\n".write(to: root.appendingPathComponent("a/Machinefile"), atomically: true, encoding: .utf8)
    #expect(Machinefile.find(from: nested.path, environment: [:]) == root.appendingPathComponent("a/Machinefile").path)

    try "cpus 2\n".write(to: nested.appendingPathComponent("Machinefile"), atomically: true, encoding: .utf8)
    #expect(Machinefile.find(from: nested.path, environment: [:]) == nested.appendingPathComponent("Machinefile").path)
  }

  @Test func aDirectoryNamedMachinefileIsSkipped() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("x/Machinefile"), withIntermediateDirectories: true)
    try "".write(to: root.appendingPathComponent("Machinefile"), atomically: true, encoding: .utf8)
    #expect(
      Machinefile.find(from: root.appendingPathComponent("x").path, environment: [:])
        == root.appendingPathComponent("Machinefile").path)
  }

  @Test func environmentOverrideIsRelativeToTheCurrentDirectory() {
    let cwd = FileManager.default.currentDirectoryPath
    #expect(Machinefile.find(from: "/", environment: ["CARAVAN_MACHINEFILE": "/etc/custom"]) == "/etc/custom")
    #expect(
      Machinefile.find(from: "/", environment: ["CARAVAN_MACHINEFILE": "sub/My.machinefile"])
        == URL(fileURLWithPath: cwd).appendingPathComponent("sub/My.machinefile").standardizedFileURL.path)
  }

  @Test func loadsFromAPathAndNamesItInDiagnostics() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let path = root.appendingPathComponent("Machinefile").path
    try "cpus 4\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try Machinefile.load(path: path, environment: [:]).machines[0].cpus == 4)

    try "cpus 0\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(throws: MachinefileError.self) { try Machinefile.load(path: path, environment: [:]) }
    do {
      _ = try Machinefile.load(path: path, environment: [:])
    } catch let error as MachinefileError {
      #expect(error.diagnostics.first?.file == path)
      #expect(error.description.hasPrefix("\(path):1:6: error:"))
    }
  }

  @Test func unreadableFilesAreClearErrors() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let missing = root.appendingPathComponent("nope").path
    do {
      _ = try Machinefile.load(path: missing, environment: [:])
      Issue.record("expected an error")
    } catch let error as MachinefileError {
      #expect(
        error.description
          == "\(missing): error: cannot read Machinefile '\(missing)': no such file; create one with `caravan init` or check the path"
      )
    }
    do {
      _ = try Machinefile.load(path: root.path, environment: [:])
      Issue.record("expected an error")
    } catch let error as MachinefileError {
      #expect(error.description.contains("it is a directory"))
    }
    let binary = root.appendingPathComponent("bin").path
    _ = FileManager.default.createFile(atPath: binary, contents: Data([0x63, 0xFF, 0xFE, 0x0A]))
    do {
      _ = try Machinefile.load(path: binary, environment: [:])
      Issue.record("expected an error")
    } catch let error as MachinefileError {
      #expect(
        error.description
          == "\(binary):1:2: error: byte 0xFF is not valid UTF-8; save the file as UTF-8 text\nc\u{FFFD}\u{FFFD}\n ^")
    }
  }

  @Test func aStrayByteIsADiagnosticAtItsLineAndColumn() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let boxfile = root.appendingPathComponent("Boxfile").path
    // Line 2 holds "é" in UTF-8 (one column), then a lone continuation byte.
    let bytes: [UInt8] = Array("version 1\r\nvar x, default: \"\u{E9}".utf8) + [0x80] + Array("\"\n".utf8)
    _ = FileManager.default.createFile(atPath: boxfile, contents: Data(bytes))
    do {
      _ = try Boxfile.check(path: boxfile, shownAs: "Boxfile", variables: [:], environment: [:])
      Issue.record("expected an error")
    } catch let error as MachinefileError {
      #expect(error.diagnostics.count == 1)
      #expect(error.diagnostics.first?.location == SourceLocation(line: 2, column: 19))
      #expect(error.description.hasPrefix("Boxfile:2:19: error: byte 0x80 is not valid UTF-8"))
    }
  }

  @Test func checkNeverThrowsAndReportsEverything() {
    let result = Machinefile.check(
      source: "cpus 0\nmemroy 1GiB\nmachine \"a\" {\n  hostname \"a_b\"\n}\nmachine \"a\" {}\n",
      fileName: "Machinefile", environment: [:])
    #expect(result.spec == nil)
    #expect(result.diagnostics.map(\.location.line) == [1, 2, 4, 6])
    let valid = Machinefile.check(source: "cpus 2", fileName: "Machinefile", environment: [:])
    #expect(valid.spec?.machines.first?.cpus == 2)
    #expect(valid.diagnostics.isEmpty)
  }

  @Test func syntaxErrorStopsAtTheFirst() {
    let result = Machinefile.check(source: "cpus 0\nhostname \"x\nmemroy 1", fileName: "M", environment: [:])
    #expect(result.diagnostics.count == 1)
    #expect(result.diagnostics.first?.message.hasPrefix("unterminated string") == true)
  }
}
