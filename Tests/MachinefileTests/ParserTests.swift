import Spec
import Support
import Testing

@testable import Machinefile

private func parse(_ source: String) throws -> [Statement] { try Parser.parse(source).statements }

private func parseError(_ source: String) -> SyntaxError? {
  do {
    _ = try Parser.parse(source)
    return nil
  } catch let error as SyntaxError {
    return error
  } catch {
    return nil
  }
}

@Suite struct ParserTests {
  @Test func statementWithArgumentsAndBlock() throws {
    let statements = try parse("machine \"web\", primary: true, count: 2 {\n  cpus 2\n}\n")
    #expect(statements.count == 1)
    let machine = statements[0]
    #expect(machine.name == "machine")
    #expect(machine.arguments.map(\.label) == [nil, "primary", "count"])
    #expect(machine.arguments[1].value.kind == .bool(true))
    #expect(machine.arguments[1].labelLocation == SourceLocation(line: 1, column: 16))
    #expect(machine.block?.statements.map(\.name) == ["cpus"])
    #expect(machine.block?.statements.first?.location == SourceLocation(line: 2, column: 3))
  }

  @Test func pairsListsAndMaps() throws {
    let statement = try #require(try parse("x 8080 -> 80, l: [a, \"b\", 3], m: {K: \"v\", \"Q\": [1]}").first)
    guard case .pair(let host, let guest) = statement.arguments[0].value.kind else {
      Issue.record("not a pair")
      return
    }
    #expect(host.kind == .integer(8080))
    #expect(guest.kind == .integer(80))
    guard case .list(let list) = statement.arguments[1].value.kind else {
      Issue.record("not a list")
      return
    }
    #expect(
      list.map(\.kind) == [.name("a"), .string(StringLiteral(parts: [.text("b")]), multiline: false), .integer(3)])
    guard case .map(let entries) = statement.arguments[2].value.kind else {
      Issue.record("not a map")
      return
    }
    #expect(entries.map(\.key) == ["K", "Q"])
  }

  @Test func continuationInListsMapsAndAfterComma() throws {
    let statements = try parse(
      "sync \"a\" -> \"/b\",\n  exclude: [\n    \"x\",\n    \"y\"\n  ],\n  env: {\n    A: 1\n  }\ncpus 2")
    #expect(statements.map(\.name) == ["sync", "cpus"])
    #expect(statements[0].arguments.count == 3)
  }

  @Test func semicolonsSeparateStatements() throws {
    #expect(try parse("cpus 1; memory 1GiB;; disk 2GiB").map(\.name) == ["cpus", "memory", "disk"])
  }

  @Test func oneLineBlock() throws {
    let statements = try parse("ssh { user \"a\"; port 22 }\nlibvirt { accel tcg }")
    #expect(statements.map(\.name) == ["ssh", "libvirt"])
    #expect(statements[0].block?.statements.map(\.name) == ["user", "port"])
  }

  @Test func braceAfterArgumentsOpensABlockNotAMap() throws {
    let statement = try #require(try parse("machine \"a\" { cpus 1 }").first)
    #expect(statement.arguments.count == 1)
    #expect(statement.block?.statements.count == 1)
  }

  @Test func mapOnlyAfterLabel() {
    // A positional `{` opens a block, so a map cannot stand there.
    #expect(parseError("x 1 -> {A: 1}")?.message == "expected a value after '->', found '{'")
  }

  @Test func syntaxErrors() {
    #expect(parseError("machine \"a\" {\n cpus 1\n")?.location == SourceLocation(line: 1, column: 13))
    #expect(parseError("cpus 1\n}")?.message == "unexpected '}' with no matching '{'; remove it")
    #expect(parseError("x [1, 2")?.message == "'[' opened at 1:3 is never closed; add ']' at the end of the list")
    #expect(parseError("x 1 2")?.location == SourceLocation(line: 1, column: 5))
    #expect(parseError("x m: {A 1}")?.message == "expected ':' after map key 'A', found integer '1'")
    #expect(parseError("x ,")?.message == "expected a value after 'x', found ','")
    #expect(parseError("[1]")?.message == "expected a setting name, found '['")
    #expect(parseError("x [1 2]")?.message.hasPrefix("expected ',' or ']' in list, found integer '2'") == true)
    #expect(parseError("ssh { } x")?.message == "expected the end of the line after the block of 'ssh', found name 'x'")
  }

  @Test func valueLengths() throws {
    let statement = try #require(try parse("sync \"./a\" -> \"/b\", exclude: [\"x\", \"y\"]").first)
    #expect(statement.arguments[0].value.length == 13)
    #expect(statement.arguments[1].value.length == 10)
  }
}
