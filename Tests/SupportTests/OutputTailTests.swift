import Support
import Testing

struct OutputTailTests {
  @Test func keepsTheLastLinesAsTheyStream() {
    var tail = OutputTail(2)
    #expect(
      tail.isEmpty && tail.quoted() == [] && tail.quoted(silent: ["It printed nothing."]) == ["It printed nothing."])
    for line in ["one", "two", "three"] { tail.append(line) }
    #expect(tail.lines == ["two", "three"] && tail.last == "three")
    #expect(tail.quoted() == ["Its last lines:", "  two", "  three"])
    #expect(tail.joined(separator: " / ") == "two / three")
  }

  @Test func takesTheLastLinesOfLinesAlreadyRead() {
    #expect(OutputTail(3, of: "a\nb\nc\nd".split(separator: "\n")).lines == ["b", "c", "d"])
    #expect(OutputTail(3, of: ["a"]).lines == ["a"])
    #expect(OutputTail(3, of: [String]()).isEmpty)
  }
}
