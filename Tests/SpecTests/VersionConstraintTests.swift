import Support
import Testing

@testable import Spec

/// Vagrant's box version constraints, as RubyGems reads them.
struct BoxVersionConstraintTests {
  @Test(arguments: [
    // Every operator, on both sides of its boundary.
    ("= 1.0.3", "1.0.3", true), ("= 1.0.3", "1.0.3.0", true), ("= 1.0.3", "1.0.4", false),
    ("1.0.3", "1.0.3", true), ("1.0.3", "1.0.2", false),  // a bare version means '='
    ("!= 2", "2.0.0", false), ("!= 2", "2.0.1", true),
    (">= 1.2", "1.2", true), (">= 1.2", "1.10", true), (">= 1.2", "1.1.9", false),
    ("> 1.2", "1.2.0", false), ("> 1.2", "1.2.0.1", true),
    ("<= 1.2", "1.2.0", true), ("<= 1.2", "1.2.1", false),
    ("< 2", "1.99.99", true), ("< 2", "2.0", false),
    // No spaces, extra spaces.
    (">=1.2", "1.3", true), ("  <   2  ", "1", true), ("~>12.0", "12.4", true),
  ])
  func eachOperator(constraint: String, version: String, expected: Bool) throws {
    #expect(try VersionConstraint(parsing: constraint).matches(version) == expected)
  }

  @Test(arguments: [
    (">= 1.2, < 2", "1.2", true), (">= 1.2, < 2", "1.99", true), (">= 1.2, < 2", "2", false),
    (">= 1.2, < 2", "1.1", false),
    (">= 1.2,< 2, != 1.5", "1.5.0", false), (">= 1.2,< 2, != 1.5", "1.5.1", true),
    ("~> 12.0, != 12.3.1", "12.3.1", false), ("~> 12.0, != 12.3.1", "12.3.2", true),
  ])
  func commaJoinedPartsMustAllHold(constraint: String, version: String, expected: Bool) throws {
    #expect(try VersionConstraint(parsing: constraint).matches(version) == expected)
  }

  /// RubyGems' `~>`: drop the last segment, bump the one before; with one
  /// segment, bump it (`~> 12` is `>= 12, < 13`, like `~> 12.0`).
  @Test(arguments: [
    ("~> 12", "11.9", false), ("~> 12", "12", true), ("~> 12", "12.99.1", true), ("~> 12", "13", false),
    ("~> 12.0", "11.99", false), ("~> 12.0", "12.0", true), ("~> 12.0", "12.9.3", true), ("~> 12.0", "13.0", false),
    ("~> 12.1", "12.0.9", false), ("~> 12.1", "12.1", true), ("~> 12.1", "12.20", true), ("~> 12.1", "13", false),
    ("~> 12.0.1", "12.0.0", false), ("~> 12.0.1", "12.0.1", true), ("~> 12.0.1", "12.0.99", true),
    ("~> 12.0.1", "12.1", false), ("~> 12.0.1", "12.1.0", false),
    ("~> 1.2.3.4", "1.2.3.9", true), ("~> 1.2.3.4", "1.2.4", false),
  ])
  func pessimistic(constraint: String, version: String, expected: Bool) throws {
    #expect(try VersionConstraint(parsing: constraint).matches(version) == expected)
  }

  @Test func versionsThatAreNotNumbersMatchNothing() throws {
    let any = try VersionConstraint(parsing: ">= 0")
    for text in ["latest", "v12", "", "12.x", "1.0-rc1"] {
      #expect(!any.matches(text), "\(text)")
    }
    #expect(any.matches("0"))
  }

  @Test func describesItselfAsWrittenAndComparesByMeaning() throws {
    let written = try VersionConstraint(parsing: "~>12.0 ,< 12.5")
    #expect(written.description == "~>12.0 ,< 12.5")
    #expect(written == (try VersionConstraint(parsing: "~> 12, < 12.5.0")))
    #expect(written != (try VersionConstraint(parsing: "~> 12.0")))
    #expect(written.clauses.map(\.op) == [.pessimistic, .lt])
  }

  @Test(arguments: [
    ("", "the version constraint is empty"),
    ("  ", "the version constraint is empty"),
    (">= 1,", "version constraint '>= 1,' has an empty part between commas"),
    (", < 2", "version constraint ', < 2' has an empty part between commas"),
    ("latest", "'latest' in version constraint 'latest' is not OPERATOR VERSION"),
    (">= 1, latest", "'latest' in version constraint '>= 1, latest' is not OPERATOR VERSION"),
    ("v1.0", "'v1.0' in version constraint 'v1.0' is not OPERATOR VERSION"),
    ("=> 1", "'=>' in version constraint '=> 1' is not an operator; did you mean '>='?"),
    ("=< 1", "'=<' in version constraint '=< 1' is not an operator; did you mean '<='?"),
    ("== 1", "'==' in version constraint '== 1' is not an operator; did you mean '='?"),
    ("~ 1.2", "'~' in version constraint '~ 1.2' is not an operator; did you mean '~>'?"),
    ("<<>> 1", "'<<>>' in version constraint '<<>> 1' is not an operator"),
    ("~> ", "'~>' in version constraint '~> ' has no version after it"),
    (">= 1, <", "'<' in version constraint '>= 1, <' has no version after it"),
    ("~> 1.x", "'1.x' in version constraint '~> 1.x' is not a version (dotted numbers like 12.1.0)"),
    (">= 1..2", "'1..2' in version constraint '>= 1..2' is not a version (dotted numbers like 12.1.0)"),
    (">= v2", "'v2' in version constraint '>= v2' is not a version (dotted numbers like 12.1.0)"),
    ("> 1 2", "'1 2' in version constraint '> 1 2' is not a version (dotted numbers like 12.1.0)"),
  ])
  func badConstraintsNameTheBadPartAndShowTheForms(text: String, message: String) throws {
    let error = try #require(throws: CaravanError.self) { try VersionConstraint(parsing: text) }
    #expect(error.message == message)
    #expect(error.hint?.contains("'~> 12.0', '>= 1.2, < 2' or '= 1.0.3'") == true)
    #expect(error.hint?.contains("= != >= <= > < ~>") == true)
  }
}

struct BoxVersionNumberTests {
  @Test func ordersByNumberNotText() throws {
    let v = { (text: String) throws -> BoxVersionNumber in try #require(BoxVersionNumber(text)) }
    #expect(try v("12.10") > v("12.9"))
    #expect(try v("1.0.10") > v("1.0.9"))
    #expect(try v("12.1.20240101") > v("12.1.20231231"))
    #expect(try v("2") > v("1.99.99"))
    #expect(try v("12.0.1") > v("12"))
    let sorted = try ["12.9", "12.10", "1", "12", "12.9.1", "0.1"].map(v).sorted().map(\.description)
    #expect(sorted == ["0.1", "1", "12", "12.9", "12.9.1", "12.10"])
  }

  @Test func missingSegmentsAreZero() throws {
    let twelve = try #require(BoxVersionNumber("12"))
    #expect(BoxVersionNumber("12.0") == twelve)
    #expect(BoxVersionNumber("12.0.0") == twelve)
    #expect(!(twelve < BoxVersionNumber("12.0.0")!) && !(BoxVersionNumber("12.0.0")! < twelve))
    #expect(
      Set(["12", "12.0", "12.0.0", "12.0.1"].compactMap(BoxVersionNumber.init)).count == 2, "equal numbers hash alike")
    #expect(BoxVersionNumber("12.0")?.segments == [12, 0])
  }

  @Test func readsDottedNumbersOnly() {
    #expect(BoxVersionNumber("12.1.20240101")?.segments == [12, 1, 20_240_101])
    #expect(BoxVersionNumber("012.1")?.description == "12.1")
    #expect(BoxVersionNumber(" 12.1 ")?.segments == [12, 1])
    for junk in [
      "", " ", ".", "1.", ".1", "1..2", "v1", "V1.0", "1.0-rc1", "1.a", "-1", "+1", "1 .2", "１２", "1234567890123456789",
    ] {
      #expect(BoxVersionNumber(junk) == nil, "\(junk)")
    }
  }
}
