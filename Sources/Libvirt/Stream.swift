internal import CLibvirt
import Glibc
import Support

public final class Stream {
  let handle: virStreamPtr
  public let connection: Connection
  private var done = false

  init(_ handle: virStreamPtr, connection: Connection) {
    self.handle = handle
    self.connection = connection
  }

  deinit {
    if !done { virStreamAbort(handle) }
    virStreamFree(handle)
  }

  func sendAll(_ buffer: UnsafeMutableRawPointer, count: Int, operation: String) throws {
    var offset = 0
    while offset < count {
      let sent = virStreamSend(
        handle, buffer.advanced(by: offset).assumingMemoryBound(to: CChar.self), count - offset)
      if sent == -2 { continue }  // would block: a blocking stream never says so, but be safe
      try check(sent, operation)
      offset += Int(sent)
    }
  }

  func finish(operation: String) throws {
    try check(virStreamFinish(handle), operation)
    done = true
  }

  func abort() {
    guard !done else { return }
    virStreamAbort(handle)
    done = true
  }
}
