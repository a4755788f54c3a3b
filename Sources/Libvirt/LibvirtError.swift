internal import CLibvirt
import Glibc
import Support

/// A failed libvirt call: which operation, on what, and libvirt's own words
/// (`virGetLastError`). What callers see is a `CaravanError` (`.hypervisor`)
/// whose cause is this, so its code can still be looked at.
public struct LibvirtError: Error, CustomStringConvertible, Sendable {
  /// What Caravan asked libvirt to do, e.g. "define domain 'caravan-x-web'".
  public var operation: String
  /// libvirt's message, e.g. "Domain not found: no domain with matching name 'x'".
  public var message: String
  /// `virErrorNumber` (VIR_ERR_*), 0 when libvirt gave none.
  public var code: Int32
  /// `virErrorDomain` (VIR_FROM_*), 0 when libvirt gave none.
  public var domain: Int32

  public init(operation: String, message: String, code: Int32 = 0, domain: Int32 = 0) {
    self.operation = operation
    self.message = message
    self.code = code
    self.domain = domain
  }

  public var description: String { "failed to \(operation): \(message)" }

  /// The error every layer throws, in words a user can act on, with this as its cause.
  public var caravanError: CaravanError {
    CaravanError(.hypervisor, "libvirt could not \(operation): \(message)", cause: self)
  }

  /// The object asked for does not exist (domain, pool, volume or network).
  public var isNotFound: Bool {
    [VIR_ERR_NO_DOMAIN, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL, VIR_ERR_NO_NETWORK]
      .map { Int32($0.rawValue) }.contains(code)
  }

  /// `body`'s result, or nil when it failed because its object is gone: a domain
  /// undefined by another command between the list that named it and this call.
  public static func unlessGone<T>(_ body: () throws -> T?) throws -> T? {
    do {
      return try body()
    } catch let error as CaravanError where (error.cause as? LibvirtError)?.isNotFound == true {
      return nil
    }
  }

  /// The connection's driver does not do that (a session daemon without networks).
  public var isUnsupported: Bool { code == Int32(VIR_ERR_NO_SUPPORT.rawValue) }

  /// The hypervisor connection could not be made or was lost.
  public var isConnectionFailure: Bool {
    [VIR_ERR_NO_CONNECT, VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC, VIR_ERR_AUTH_FAILED]
      .map { Int32($0.rawValue) }.contains(code)
  }

  /// Reads (and clears) this thread's last libvirt error. The error is read
  /// before `operation` is evaluated: every libvirt call (even `virDomainGetName`
  /// in an interpolated name) resets it.
  static func last(_ operation: @autoclosure () -> String) -> LibvirtError {
    var message = "libvirt reported no detail"
    var code: Int32 = 0
    var domain: Int32 = 0
    if let err = virGetLastError() {
      message = err.pointee.message.map { String(cString: $0) } ?? message
      code = err.pointee.code
      domain = err.pointee.domain
    }
    virResetLastError()
    return LibvirtError(operation: operation(), message: message, code: code, domain: domain)
  }
}

/// libvirt prints every error to stderr unless an error function is set; we
/// report errors ourselves, once, in words a user can act on.
let silenceLibvirtOnce: Void = {
  virSetErrorFunc(nil) { _, _ in }
  // libvirt writes to sockets and to the pipes of the `ssh` it runs for a remote URI; one that
  // closes first (an ssh that could not connect) must fail that write with EPIPE, not kill
  // this process with SIGPIPE: libvirt asks its applications to ignore the signal. (A CI run
  // saw `caravan status` on an unreachable qemu+ssh URI end by signal 13, saying nothing.)
  signal(SIGPIPE, SIG_IGN)
  _ = virInitialize()
}()

@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
  if result < 0 { throw LibvirtError.last(operation()).caravanError }
  return result
}

func check<T>(_ pointer: T?, _ operation: @autoclosure () -> String) throws -> T {
  guard let pointer else { throw LibvirtError.last(operation()).caravanError }
  return pointer
}

/// Takes ownership of a string libvirt allocated and frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?, _ operation: @autoclosure () -> String) throws -> String {
  guard let pointer else { throw LibvirtError.last(operation()).caravanError }
  defer { free(pointer) }
  return String(cString: pointer)
}

func uuidString(_ body: (UnsafeMutablePointer<CChar>) -> Int32, _ operation: String) throws -> String {
  var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
  try check(buffer.withUnsafeMutableBufferPointer { pointer in pointer.baseAddress.map(body) ?? -1 }, operation)
  return String(cString: buffer)
}
