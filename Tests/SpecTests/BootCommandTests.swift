import Foundation
import Support
import Testing

@testable import Spec

/// Key codes as linux/input-event-codes.h names them, from the header itself when it is there.
enum Header {
  static let path = "/usr/include/linux/input-event-codes.h"
  static var isPresent: Bool { FileManager.default.fileExists(atPath: path) }

  static let codes: [String: UInt32] = {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
    var codes: [String: UInt32] = [:]
    for line in text.split(separator: "\n") {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      if fields.count >= 3, fields[0] == "#define", fields[1].hasPrefix("KEY_"), let value = UInt32(fields[2]) {
        codes[String(fields[1])] = value
      }
    }
    return codes
  }()

  static func code(_ name: String) -> UInt32 {
    codes["KEY_" + name] ?? UInt32.max
  }
}

struct BootCommandTests {
  let shift = LinuxKey.leftShift
  let ctrl = LinuxKey.leftCtrl

  func failure(_ strings: [String]) -> CaravanError? {
    do {
      _ = try BootCommand.parse(strings)
      return nil
    } catch {
      return error as? CaravanError
    }
  }

  @Test(.enabled(if: Header.isPresent))
  func keyCodesAreLinuxInputEventCodes() {
    let named: [(UInt32, String)] = [
      (LinuxKey.esc, "ESC"), (LinuxKey.minus, "MINUS"), (LinuxKey.equal, "EQUAL"), (LinuxKey.backspace, "BACKSPACE"),
      (LinuxKey.tab, "TAB"), (LinuxKey.leftBrace, "LEFTBRACE"), (LinuxKey.rightBrace, "RIGHTBRACE"),
      (LinuxKey.enter, "ENTER"), (LinuxKey.leftCtrl, "LEFTCTRL"), (LinuxKey.semicolon, "SEMICOLON"),
      (LinuxKey.apostrophe, "APOSTROPHE"), (LinuxKey.grave, "GRAVE"), (LinuxKey.leftShift, "LEFTSHIFT"),
      (LinuxKey.backslash, "BACKSLASH"), (LinuxKey.comma, "COMMA"), (LinuxKey.dot, "DOT"), (LinuxKey.slash, "SLASH"),
      (LinuxKey.rightShift, "RIGHTSHIFT"), (LinuxKey.leftAlt, "LEFTALT"), (LinuxKey.space, "SPACE"),
      (LinuxKey.rightCtrl, "RIGHTCTRL"), (LinuxKey.rightAlt, "RIGHTALT"), (LinuxKey.home, "HOME"), (LinuxKey.up, "UP"),
      (LinuxKey.pageUp, "PAGEUP"), (LinuxKey.left, "LEFT"), (LinuxKey.right, "RIGHT"), (LinuxKey.end, "END"),
      (LinuxKey.down, "DOWN"), (LinuxKey.pageDown, "PAGEDOWN"), (LinuxKey.insert, "INSERT"),
      (LinuxKey.delete, "DELETE"),
    ]
    let letters = zip(LinuxKey.letters, "ABCDEFGHIJKLMNOPQRSTUVWXYZ").map { ($0, String($1)) }
    let digits = zip(LinuxKey.digits, "0123456789").map { ($0, String($1)) }
    let functions = LinuxKey.functionKeys.enumerated().map { ($0.element, "F\($0.offset + 1)") }
    #expect(LinuxKey.letters.count == 26 && LinuxKey.functionKeys.count == 12)
    for (code, name) in named + letters + digits + functions {
      #expect(code == Header.code(name), "KEY_\(name)")
    }
  }

  @Test(.enabled(if: Header.isPresent))
  func everyPrintableCharacterIsTypedAsOnAUSKeyboard() throws {
    let punctuation: [Character: (String, Bool)] = [
      " ": ("SPACE", false), "!": ("1", true), "\"": ("APOSTROPHE", true), "#": ("3", true), "$": ("4", true),
      "%": ("5", true), "&": ("7", true), "'": ("APOSTROPHE", false), "(": ("9", true), ")": ("0", true),
      "*": ("8", true), "+": ("EQUAL", true), ",": ("COMMA", false), "-": ("MINUS", false), ".": ("DOT", false),
      "/": ("SLASH", false), ":": ("SEMICOLON", true), ";": ("SEMICOLON", false), "<": ("COMMA", true),
      "=": ("EQUAL", false), ">": ("DOT", true), "?": ("SLASH", true), "@": ("2", true), "[": ("LEFTBRACE", false),
      "\\": ("BACKSLASH", false), "]": ("RIGHTBRACE", false), "^": ("6", true), "_": ("MINUS", true),
      "`": ("GRAVE", false), "{": ("LEFTBRACE", true), "|": ("BACKSLASH", true), "}": ("RIGHTBRACE", true),
      "~": ("GRAVE", true),
    ]
    let printable = (0x20...0x7E).map { Character(UnicodeScalar(UInt8($0))) }
    var expected: [BootAction] = []
    for character in printable {
      let key: (name: String, shifted: Bool)
      if character.isLetter {
        key = (character.uppercased(), character.isUppercase)
      } else if character.isNumber {
        key = (String(character), false)
      } else {
        key = try #require(punctuation[character], "no expectation for '\(character)'")
      }
      expected.append(
        .press(key.shifted ? [Header.code("LEFTSHIFT"), Header.code(key.name)] : [Header.code(key.name)]))
    }
    let text = String(printable).replacingOccurrences(of: "<", with: "<<")
    #expect(try BootCommand.parse([text]) == expected)
  }

  @Test func newlineIsEnterAndTabIsTab() throws {
    #expect(
      try BootCommand.parse(["a\nb\t", "\r\n"]) == [
        .press([LinuxKey.letters[0]]), .press([LinuxKey.enter]), .press([LinuxKey.letters[1]]),
        .press([LinuxKey.tab]), .press([LinuxKey.enter]),
      ])
  }

  @Test func specialKeysAreCaseInsensitive() throws {
    let table: [(String, UInt32)] = [
      ("enter", LinuxKey.enter), ("return", LinuxKey.enter), ("esc", LinuxKey.esc), ("tab", LinuxKey.tab),
      ("bs", LinuxKey.backspace), ("del", LinuxKey.delete), ("spacebar", LinuxKey.space),
      ("insert", LinuxKey.insert), ("home", LinuxKey.home), ("end", LinuxKey.end), ("pageUp", LinuxKey.pageUp),
      ("pageDown", LinuxKey.pageDown), ("up", LinuxKey.up), ("down", LinuxKey.down), ("left", LinuxKey.left),
      ("right", LinuxKey.right), ("f1", LinuxKey.functionKeys[0]), ("f10", LinuxKey.functionKeys[9]),
      ("f11", LinuxKey.functionKeys[10]), ("f12", LinuxKey.functionKeys[11]),
    ]
    for (name, code) in table {
      for spelling in [name, name.uppercased(), name.lowercased(), name.prefix(1).uppercased() + name.dropFirst()] {
        #expect(try BootCommand.parse(["<\(spelling)>"]) == [.press([code])], "<\(spelling)>")
      }
    }
  }

  @Test func aHeldModifierGoesWithEveryKeyUntilReleased() throws {
    let c = LinuxKey.letters[2]
    #expect(try BootCommand.parse(["<leftCtrlOn>c<leftCtrlOff>c"]) == [.press([ctrl, c]), .press([c])])
    #expect(
      try BootCommand.parse(["<leftCtrlOn><leftAltOn><del><leftAltOff><leftCtrlOff>"]) == [
        .press([ctrl, LinuxKey.leftAlt, LinuxKey.delete])
      ])
    // Modifiers come in one order whatever order they were turned on in.
    #expect(
      try BootCommand.parse(["<rightAltOn><leftAltOn><rightCtrlOn><f2>"]) == [
        .press([LinuxKey.leftAlt, LinuxKey.rightCtrl, LinuxKey.rightAlt, LinuxKey.functionKeys[1]])
      ])
    // Held across strings: the strings are one sequence.
    #expect(
      try BootCommand.parse(["<LEFTCTRLON>", "c", "<leftctrloff>c"]) == [.press([ctrl, c]), .press([c])])
  }

  @Test func shiftedCharactersAddShiftOnlyWhenNoShiftIsHeld() throws {
    let a = LinuxKey.letters[0]
    let one = LinuxKey.digits[1]
    #expect(try BootCommand.parse(["<leftCtrlOn>A"]) == [.press([ctrl, shift, a])])
    #expect(try BootCommand.parse(["<leftShiftOn>a!"]) == [.press([shift, a]), .press([shift, one])])
    #expect(try BootCommand.parse(["<rightShiftOn>A"]) == [.press([LinuxKey.rightShift, a])])
    #expect(try BootCommand.parse(["<leftShiftOn><leftShiftOff>a"]) == [.press([a])])
  }

  @Test func waitsAreDurations() throws {
    let cases: [(String, Int)] = [
      ("<wait>", 1000), ("<wait5>", 5000), ("<wait5s>", 5000), ("<wait2m>", 120_000), ("<wait500ms>", 500),
      ("<wait0.5s>", 500), ("<wait1.25>", 1250), ("<WAIT10S>", 10_000), ("<Wait3M>", 180_000), ("<wait0>", 0),
      ("<wait1440m>", 86_400_000),
    ]
    for (text, milliseconds) in cases {
      #expect(try BootCommand.parse([text]) == [.wait(milliseconds: milliseconds)], "\(text)")
    }
    #expect(
      try BootCommand.parse(["<esc><wait>x", "<wait2>"]) == [
        .press([LinuxKey.esc]), .wait(milliseconds: 1000), .press([LinuxKey.letters[23]]), .wait(milliseconds: 2000),
      ])
  }

  @Test func aMalformedWaitIsAnError() throws {
    for text in ["<wait5x>", "<wait1.>", "<wait.5>", "<wait1h>", "<wait1441m>", "<waitms>", "<wait1.2.3s>", "<waits>"] {
      let error = try #require(failure(["x", text]), "\(text)")
      #expect(error.message == "boot_command string 2, column 1: '\(text)' is not a wait")
      #expect(error.hint?.contains("A wait is <wait> (1 s), <wait5> or <wait5s> (seconds)") == true)
    }
  }

  @Test func doubledLessThanIsALiteralLessThan() throws {
    let lessThan = BootAction.press([shift, LinuxKey.comma])
    let greaterThan = BootAction.press([shift, LinuxKey.dot])
    #expect(try BootCommand.parse(["<<"]) == [lessThan])
    #expect(try BootCommand.parse(["<<<enter>"]) == [lessThan, .press([LinuxKey.enter])])
    #expect(try BootCommand.parse([">"]) == [greaterThan])
    let spelled = try BootCommand.parse(["<<enter>"])
    #expect(spelled.first == lessThan && spelled.last == greaterThan && spelled.count == 7)
  }

  @Test func anUnknownKeyNamesStringColumnAndTheNearestKey() throws {
    let error = try #require(failure(["<esc>", "ab<entr>"]))
    #expect(error.kind == .invalidInput)
    #expect(error.message == "boot_command string 2, column 3: unknown key '<entr>'")
    #expect(error.hint?.hasPrefix("Did you mean '<enter>'? The keys are <enter> <return> <esc>") == true)
    #expect(error.hint?.hasSuffix("Write '<<' to type a literal '<'.") == true)
    // The suggestion is spelled as the spec spells it, whatever the case typed.
    #expect(failure(["<PAGUP>"])?.hint?.hasPrefix("Did you mean '<pageUp>'?") == true)
    #expect(failure(["<leftCtrl>"])?.hint?.hasPrefix("Did you mean '<leftCtrlOn>'?") == true)
    #expect(failure(["<zzzzzz>"])?.hint?.hasPrefix("The keys are") == true)
  }

  @Test func aLessThanWithoutAKeyIsAnErrorThatSuggestsDoubling() throws {
    let error = try #require(failure(["install <enter"]))
    #expect(error.message == "boot_command string 1, column 9: '<' has no closing '>' in '<enter'")
    #expect(error.hint == "Write '<<' to type a literal '<'.")
    let spaced = try #require(failure(["if a < b > c then"]))
    #expect(spaced.message == "boot_command string 1, column 6: '<' has no closing '>' in '< b > c then'")
    let long = try #require(failure(["<" + String(repeating: "x", count: 30)]))
    #expect(long.message.hasSuffix("in '<" + String(repeating: "x", count: 19) + "…'"))
    #expect(failure(["<>"])?.message == "boot_command string 1, column 1: unknown key '<>'")
  }

  @Test func charactersWithoutAKeyAreErrors() throws {
    let error = try #require(failure(["café"]))
    #expect(error.message == "boot_command string 1, column 4: 'é' cannot be typed on a US keyboard")
    #expect(error.hint?.hasPrefix("Only printable ASCII, \\n (Enter) and \\t (Tab) can be typed") == true)
    #expect(
      failure(["a\rb"])?.message == "boot_command string 1, column 2: 'U+000D' cannot be typed on a US keyboard")
    #expect(
      failure(["\u{1B}"])?.message == "boot_command string 1, column 1: 'U+001B' cannot be typed on a US keyboard")
  }

  @Test func releasingAModifierNotHeldIsAnError() throws {
    let error = try #require(failure(["<leftCtrlOn>c<leftCtrlOff>", "<leftctrloff>"]))
    #expect(
      error.message
        == "boot_command string 2, column 1: '<leftctrloff>' releases leftCtrl, which no '<leftCtrlOn>' before it holds"
    )
    #expect(error.hint == "Hold a modifier with <leftCtrlOn> before the keys it goes with, and release it after them.")
    #expect(failure(["<leftAltOn><rightAltOff>"])?.message.contains("releases rightAlt") == true)
  }

  /// What the Boxfile validator places and explains: string, column, extent and fix of each problem.
  @Test func problemsCarryTheirPlaceExtentAndFix() {
    let problems = BootCommand.problems(in: ["ok", "ab<entr> <wait5x>", "<zzzzzz> <"])
    #expect(problems.map(\.string) == [2, 2, 3, 3])
    #expect(problems.map(\.column) == [3, 10, 1, 10])
    #expect(problems.map(\.length) == [6, 8, 8, 1])
    #expect(problems[0].fix == "did you mean '<enter>'?")
    #expect(problems[1].fix.hasPrefix("a wait is <wait> (1 s)"))
    #expect(problems[2].fix.hasPrefix("the keys are <enter> <return>") && problems[2].fix.hasSuffix("literal '<'"))
    #expect(problems[3].fix == "write '<<' to type a literal '<'")
    #expect(BootCommand.problems(in: ["<esc><wait>install<enter>"]).isEmpty)
  }

  @Test func everyProblemIsReportedInOrder() throws {
    let error = try #require(failure(["é<entr>", "ok", "<wait5x> <", "<tabb>"]))
    #expect(
      error.message.split(separator: "\n") == [
        "boot_command string 1, column 1: 'é' cannot be typed on a US keyboard",
        "boot_command string 1, column 2: unknown key '<entr>'",
        "boot_command string 3, column 1: '<wait5x>' is not a wait",
        "boot_command string 3, column 10: '<' has no closing '>' in '<'",
        "boot_command string 4, column 1: unknown key '<tabb>'",
      ])
    #expect(error.hint?.hasPrefix("Did you mean '<enter>' for '<entr>' and '<tab>' for '<tabb>'?") == true)
  }

  @Test func aTypicalInstallerBootCommand() throws {
    let actions = try BootCommand.parse([
      "<esc><wait>", "install auto=true preseed/url=http://10.0.2.2:8123/preseed.cfg<enter>",
    ])
    #expect(actions.count == 2 + "install auto=true preseed/url=http://10.0.2.2:8123/preseed.cfg".count + 1)
    #expect(actions.prefix(2) == [.press([LinuxKey.esc]), .wait(milliseconds: 1000)])
    #expect(actions.last == .press([LinuxKey.enter]))
    #expect(actions.contains(.press([shift, LinuxKey.semicolon])))  // the ':' of the URL
    #expect(try BootCommand.parse([]) == [] && BootCommand.parse(["", ""]) == [])
  }

  @Test func describeNamesTheKeys() throws {
    let actions = try BootCommand.parse(["<leftCtrlOn>A<leftCtrlOff>1<f5><wait2><wait250ms>"])
    #expect(BootCommand.describe(actions) == "leftCtrl+leftShift+a 1 f5 wait(2s) wait(250ms)")
  }
}
