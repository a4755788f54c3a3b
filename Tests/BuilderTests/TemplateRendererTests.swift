import Support
import Testing

@testable import Builder

struct TemplateRendererTests {
  static let file = "templates/preseed/debian-12.cfg"
  static let values = [
    "http_ip": "10.0.2.2", "http_port": "8123", "user": "vagrant", "password": "s3cr$t\\x",
    "hostname": "debian-12", "name": "caravan/debian-12", "version": "12.0.7",
  ]

  func render(_ text: String, values: [String: String] = Self.values) throws -> String {
    try TemplateRenderer.render(text, file: Self.file, values: values)
  }

  func failure(_ text: String, values: [String: String] = Self.values) -> CaravanError? {
    do {
      _ = try render(text, values: values)
      return nil
    } catch {
      return error as? CaravanError
    }
  }

  @Test func placeholdersTakeOptionalSpacesAndTabs() throws {
    #expect(try render("{{user}}|{{ user }}|{{\tuser  }}|{{  user\t}}") == "vagrant|vagrant|vagrant|vagrant")
  }

  @Test func everythingElseIsCopiedByteForByte() throws {
    let text = """
      d-i preseed/late_command string in-target sh -c 'echo "${USER:-x}" $HOME $(id -u) \\n \\\\ \\$'; \\
        wget http://{{ http_ip }}:{{ http_port }}/vagrant.sh -O /target/tmp/v.sh\r
      %post --log=/root/ks.log\r
      if [ -z "$1" ]; then { echo '{' ; echo '}' ; echo '}}' ; echo '{ x }' ; echo '{x}' ; } fi
      é ☃ 🐧 tab\there, trailing spaces   \u{0}
      """
    let expected = """
      d-i preseed/late_command string in-target sh -c 'echo "${USER:-x}" $HOME $(id -u) \\n \\\\ \\$'; \\
        wget http://10.0.2.2:8123/vagrant.sh -O /target/tmp/v.sh\r
      %post --log=/root/ks.log\r
      if [ -z "$1" ]; then { echo '{' ; echo '}' ; echo '}}' ; echo '{ x }' ; echo '{x}' ; } fi
      é ☃ 🐧 tab\there, trailing spaces   \u{0}
      """
    #expect(Array(try render(text).utf8) == Array(expected.utf8))
  }

  @Test func aTemplateWithoutPlaceholdersIsUnchanged() throws {
    for text in ["", "\n", "no braces at all\r\n", "{ single } braces { and } a lone }}", "ends with {"] {
      #expect(try render(text, values: [:]) == text)
    }
  }

  @Test func valuesAreInsertedAsTheyAreAndNotRenderedAgain() throws {
    let values = ["a": "{{ b }}", "b": "never", "dollar": "$x ${y} \\ \"q\"", "empty": ""]
    #expect(try render("[{{ a }}][{{dollar}}][{{ empty }}]", values: values) == "[{{ b }}][$x ${y} \\ \"q\"][]")
  }

  @Test func aVarHoldingBracesWritesLiteralBraces() throws {
    #expect(try render("{{ lbrace }} raw }}", values: ["lbrace": "{{"]) == "{{ raw }}")
  }

  @Test func namesAreCaseSensitive() {
    let error = failure("{{ User }}")
    #expect(error?.message == "template '\(Self.file)' line 1, column 1: unknown placeholder '{{ User }}'")
    #expect(error?.hint?.hasPrefix("Did you mean '{{ user }}'?") == true)
  }

  @Test func anUnknownPlaceholderNamesFileLineColumnAndTheKnownNames() throws {
    let text = "# Debian preseed\n\nd-i passwd/user-password password {{ pasword }}\n"
    let error = try #require(failure(text))
    #expect(error.kind == .invalidInput)
    #expect(
      error.message
        == "template 'templates/preseed/debian-12.cfg' line 3, column 35: unknown placeholder '{{ pasword }}'")
    #expect(
      error.hint
        == "Did you mean '{{ password }}'? The known placeholders are {{ hostname }}, {{ http_ip }}, {{ http_port }}, "
        + "{{ name }}, {{ password }}, {{ user }}, {{ version }}; a Boxfile `var NAME` defines a new one.")
  }

  @Test func anUnknownPlaceholderFarFromEveryNameHasNoSuggestion() throws {
    let error = try #require(failure("{{ zzzzzzzz }}"))
    #expect(error.hint?.hasPrefix("The known placeholders are {{ hostname }}") == true)
    #expect(error.hint?.contains("Did you mean") == false)
  }

  @Test func anUnknownPlaceholderWithNoValuesAtAllSaysSo() throws {
    let error = try #require(failure("x {{ y }}", values: [:]))
    #expect(error.hint == "The known placeholders are none; a Boxfile `var NAME` defines a new one.")
  }

  @Test func columnsCountCharactersNotBytes() throws {
    let error = try #require(failure("ab\né€🐧 👨‍👩‍👧 {{ nope }}"))
    #expect(error.message.hasPrefix("template '\(Self.file)' line 2, column 7: "))
  }

  @Test func crlfEndsALineOnce() throws {
    let error = try #require(failure("a\r\nb\r\n\r\n  {{ nope }}"))
    #expect(error.message.hasPrefix("template '\(Self.file)' line 4, column 3: "))
  }

  @Test func columnsAfterEarlierPlaceholdersOnTheLineCountTheSourceText() throws {
    let error = try #require(failure("{{ user }}:{{user}}:{{ nope }}"))
    #expect(error.message.hasPrefix("template '\(Self.file)' line 1, column 21: "))
  }

  @Test func aBadNameIsAnErrorWithItsPosition() throws {
    for (text, written, column) in [
      ("x {{ 1x }} y", "{{ 1x }}", 3), ("{{}}", "{{}}", 1), ("  {{ a b }}", "{{ a b }}", 3),
      ("{{ a-b }}", "{{ a-b }}", 1), ("{{{ user }}}", "{{{ user }}", 1), ("{{ é }}", "{{ é }}", 1),
    ] {
      let error = try #require(failure(text))
      #expect(
        error.message
          == "template '\(Self.file)' line 1, column \(column): '\(written)' is not a placeholder: "
          + "a name is letters, digits and '_', not starting with a digit")
      #expect(error.hint?.hasPrefix("Write a placeholder as {{ NAME }}; for a literal '{{'") == true)
    }
  }

  @Test func anUnterminatedPlaceholderIsAnErrorWithItsPosition() throws {
    let error = try #require(failure("line one\n  {{ user }\n{{ user }}"))
    #expect(error.message == "template '\(Self.file)' line 2, column 3: '{{ user }' has no closing '}}' on its line")
    let long = try #require(failure("{{ " + String(repeating: "x", count: 60)))
    #expect(long.message.hasSuffix("'{{ " + String(repeating: "x", count: 37) + "…' has no closing '}}' on its line"))
    let atEnd = try #require(failure("tail {{"))
    #expect(atEnd.message == "template '\(Self.file)' line 1, column 6: '{{' has no closing '}}' on its line")
  }

  @Test func everyProblemIsReportedInOrder() throws {
    let text = "{{ usr }}\n{{ 9 }}\n{{ hostnme }} {{ user }}\n{{ open"
    let error = try #require(failure(text))
    #expect(
      error.message.split(separator: "\n") == [
        "template '\(Self.file)' line 1, column 1: unknown placeholder '{{ usr }}'",
        "template '\(Self.file)' line 2, column 1: '{{ 9 }}' is not a placeholder: "
          + "a name is letters, digits and '_', not starting with a digit",
        "template '\(Self.file)' line 3, column 1: unknown placeholder '{{ hostnme }}'",
        "template '\(Self.file)' line 4, column 1: '{{ open' has no closing '}}' on its line",
      ])
    #expect(
      error.hint?.hasPrefix(
        "Did you mean '{{ user }}' for '{{ usr }}' and '{{ hostname }}' for '{{ hostnme }}'? The known placeholders")
        == true)
    #expect(error.hint?.contains("for a literal '{{'") == true)
  }

  @Test func placeholdersAreListedOnceInOrderOfFirstUse() {
    let text = "{{ b }} {{a}} {{ 1x }} {{ b }} {{ _c9 }} {{ open"
    #expect(TemplateRenderer.placeholders(in: text) == ["b", "a", "_c9"])
    #expect(TemplateRenderer.placeholders(in: "no placeholders ${here}") == [])
  }
}
