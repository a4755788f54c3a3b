import Foundation
import Support

/// The host a remote libvirt runs on, as an SSH client reaches it: where the
/// guests' forwards are bound (on its loopback), so Caravan's SSH goes through
/// it (`ProxyJump`), with the user, port and key libvirt's own connection uses.
public struct SSHJump: Sendable, Equatable {
  /// nil: the SSH client's own default (its config, else the local user).
  public var user: String?
  /// A name or an address; an IPv6 address without brackets.
  public var host: String
  /// nil: the SSH client's default (22, or its config's).
  public var port: Int?
  /// The URI's `keyfile=`: the key libvirt logs in to the host with.
  public var identityFile: String?
  /// False for the URI's `no_verify=1`: the host's key is not checked, as libvirt does not.
  public var verifyHostKey: Bool

  public init(
    user: String? = nil, host: String, port: Int? = nil, identityFile: String? = nil, verifyHostKey: Bool = true
  ) {
    self.user = user
    self.host = host
    self.port = port
    self.identityFile = identityFile
    self.verifyHostKey = verifyHostKey
  }

  /// `user@host` (the user only when the URI names one); an IPv6 address in brackets.
  public var destination: String {
    let shownHost = host.contains(":") ? "[\(host)]" : host
    return user.map { "\($0)@\(shownHost)" } ?? shownHost
  }
}

extension SSHJump {
  /// The OpenSSH client's options to log in to this host itself, as libvirt's own
  /// `ssh` does for the URI: port, user, key (`-i`), no host key check for `no_verify`.
  public var clientArguments: [String] {
    var args: [String] = []
    if let port { args += ["-p", String(port)] }
    if let identityFile { args += ["-i", identityFile] }
    if !verifyHostKey { args += ["-o", "StrictHostKeyChecking=no"] }
    return args
  }

  /// How an ssh to the guest goes through this host, as an ssh option (`-o KEY=VALUE`,
  /// or `KEY VALUE` in a config file). `ProxyJump [user@]host[:port]` when the jump
  /// needs nothing else (the client's own config, keys, agent and known hosts apply to
  /// it, as to libvirt's connection); otherwise a `ProxyCommand` running
  /// `ssh … -W [%h]:%p` with the URI's key and host key setting, since ProxyJump
  /// cannot carry them. Its words are quoted for the shell that runs it, and `%`
  /// doubled in them (ssh expands `%` tokens in the command first).
  public var openSSHOption: (key: String, value: String) {
    if identityFile == nil && verifyHostKey {
      return ("ProxyJump", destination + (port.map { ":\($0)" } ?? ""))
    }
    let words = (["ssh"] + clientArguments).map { shellWord($0.replacingOccurrences(of: "%", with: "%%")) }
    return (
      "ProxyCommand",
      (words + ["-W", "'[%h]:%p'", shellWord(destination.replacingOccurrences(of: "%", with: "%%"))])
        .joined(separator: " ")
    )
  }

  /// `ssh -N -L …` that brings `remoteIP:remotePort` of this host to `localPort` on the
  /// user's own machine's loopback: how a guest's forward on a remote libvirt host is
  /// reached from here.
  public func localForwardCommand(remoteIP: String, remotePort: Int, localPort: Int) -> [String] {
    let target = remoteIP.contains(":") ? "[\(remoteIP)]" : remoteIP
    return ["ssh", "-N", "-L", "\(localPort):\(target):\(remotePort)"] + clientArguments + [destination]
  }
}

/// A word as a POSIX shell reads it back: as is when it holds only characters no
/// shell treats specially, else in single quotes.
public func shellWord(_ text: String) -> String {
  let plain =
    !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "@%+=:,./_-".contains($0)) }
  return plain ? text : shellQuote(text)
}
