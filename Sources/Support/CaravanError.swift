/// Core's error: what failed, the value involved, and what the user can do.
/// Lower layers' errors are translated into this at the boundary, keeping the cause.
public struct CaravanError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    case invalidInput, notFound, conflict, hypervisor, guest, timeout, io, internalError
    /// Ctrl-C or SIGTERM stopped the command (`Interrupt`): it exits 130.
    case interrupted
  }
  public var kind: Kind
  public var message: String
  /// The fix, in one or two sentences ("Run `caravan box add …`").
  public var hint: String?
  public var cause: (any Error)?

  public init(_ kind: Kind, _ message: String, hint: String? = nil, cause: (any Error)? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
    self.cause = cause
  }

  public var description: String {
    var text = message
    if let hint { text += "\n  " + hint }
    return text
  }
}
