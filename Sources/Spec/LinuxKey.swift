/// Key codes of Linux's input layer (`KEY_*` in linux/input-event-codes.h): the key code set
/// libvirt's `virDomainSendKey` takes as `VIR_KEYCODE_SET_LINUX`, and how a US keyboard types
/// each printable ASCII character with them.
public enum LinuxKey {
  public static let esc: UInt32 = 1
  /// `KEY_0` … `KEY_9`, indexed by the digit (the keys run 1 … 9, 0 on the keyboard).
  public static let digits: [UInt32] = [11, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  public static let minus: UInt32 = 12
  public static let equal: UInt32 = 13
  public static let backspace: UInt32 = 14
  public static let tab: UInt32 = 15
  public static let leftBrace: UInt32 = 26
  public static let rightBrace: UInt32 = 27
  public static let enter: UInt32 = 28
  public static let leftCtrl: UInt32 = 29
  public static let semicolon: UInt32 = 39
  public static let apostrophe: UInt32 = 40
  public static let grave: UInt32 = 41
  public static let leftShift: UInt32 = 42
  public static let backslash: UInt32 = 43
  public static let comma: UInt32 = 51
  public static let dot: UInt32 = 52
  public static let slash: UInt32 = 53
  public static let rightShift: UInt32 = 54
  public static let leftAlt: UInt32 = 56
  public static let space: UInt32 = 57
  /// `KEY_F1` … `KEY_F12`: `functionKeys[0]` is F1.
  public static let functionKeys: [UInt32] = [59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 87, 88]
  public static let rightCtrl: UInt32 = 97
  public static let rightAlt: UInt32 = 100
  public static let home: UInt32 = 102
  public static let up: UInt32 = 103
  public static let pageUp: UInt32 = 104
  public static let left: UInt32 = 105
  public static let right: UInt32 = 106
  public static let end: UInt32 = 107
  public static let down: UInt32 = 108
  public static let pageDown: UInt32 = 109
  public static let insert: UInt32 = 110
  public static let delete: UInt32 = 111

  /// `KEY_A` … `KEY_Z`, in alphabetical order (the codes follow the QWERTY rows).
  public static let letters: [UInt32] = [
    30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44,
  ]

  /// The key a US keyboard types `character` with, and whether it needs Shift; nil for a
  /// character no key types (anything but printable ASCII, `\n` and `\t`).
  public static func usLayout(_ character: Character) -> (key: UInt32, shifted: Bool)? {
    guard let ascii = character.asciiValue else { return nil }
    switch ascii {
    case UInt8(ascii: "a")...UInt8(ascii: "z"): return (letters[Int(ascii - UInt8(ascii: "a"))], false)
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): return (letters[Int(ascii - UInt8(ascii: "A"))], true)
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return (digits[Int(ascii - UInt8(ascii: "0"))], false)
    default: return punctuation[ascii]
    }
  }

  /// The rest of printable ASCII (the digit row again, for its shifted characters), `\n` and `\t`.
  private static let punctuation: [UInt8: (key: UInt32, shifted: Bool)] = {
    let rows: [(key: UInt32, plain: Unicode.Scalar, shifted: Unicode.Scalar)] = [
      (digits[1], "1", "!"), (digits[2], "2", "@"), (digits[3], "3", "#"), (digits[4], "4", "$"),
      (digits[5], "5", "%"), (digits[6], "6", "^"), (digits[7], "7", "&"), (digits[8], "8", "*"),
      (digits[9], "9", "("), (digits[0], "0", ")"), (minus, "-", "_"), (equal, "=", "+"),
      (leftBrace, "[", "{"), (rightBrace, "]", "}"), (semicolon, ";", ":"), (apostrophe, "'", "\""),
      (grave, "`", "~"), (backslash, "\\", "|"), (comma, ",", "<"), (dot, ".", ">"), (slash, "/", "?"),
    ]
    var table: [UInt8: (key: UInt32, shifted: Bool)] = [
      UInt8(ascii: " "): (space, false), UInt8(ascii: "\n"): (enter, false), UInt8(ascii: "\t"): (tab, false),
    ]
    for row in rows {
      table[UInt8(ascii: row.plain)] = (row.key, false)
      table[UInt8(ascii: row.shifted)] = (row.key, true)
    }
    return table
  }()

  /// A short name for `code` (`leftShift`, `a`, `f5`), or its number.
  public static func name(of code: UInt32) -> String {
    names[code] ?? String(code)
  }

  private static let names: [UInt32: String] = {
    var names: [UInt32: String] = [
      esc: "esc", minus: "-", equal: "=", backspace: "bs", tab: "tab", leftBrace: "[", rightBrace: "]",
      enter: "enter", leftCtrl: "leftCtrl", semicolon: ";", apostrophe: "'", grave: "`", leftShift: "leftShift",
      backslash: "\\", comma: ",", dot: ".", slash: "/", rightShift: "rightShift", leftAlt: "leftAlt",
      space: "spacebar", rightCtrl: "rightCtrl", rightAlt: "rightAlt", home: "home", up: "up", pageUp: "pageUp",
      left: "left", right: "right", end: "end", down: "down", pageDown: "pageDown", insert: "insert", delete: "del",
    ]
    for (index, code) in letters.enumerated() { names[code] = String(UnicodeScalar(UInt8(97 + index))) }
    for (digit, code) in digits.enumerated() { names[code] = String(digit) }
    for (index, code) in functionKeys.enumerated() { names[code] = "f\(index + 1)" }
    return names
  }()
}
