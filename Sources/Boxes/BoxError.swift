/// The box layer's error: names the box, file or member, and says what to do.
public struct BoxError: Error, CustomStringConvertible {
  public var message: String
  public var hint: String?
  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }
  public var description: String { hint.map { "\(message)\n  \($0)" } ?? message }
}
