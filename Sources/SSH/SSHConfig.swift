import Core
import Foundation
import Support

/// `caravan ssh-config`: a `Host` block for OpenSSH's client configuration
/// that reaches a machine as `caravan ssh` does (`ssh -F FILE HOST`).
public enum SSHConfig {
  /// One block. `extraArgs` of the endpoint given as `-o Key=Value` (or
  /// `-oKey=Value`) become config lines; other ones cannot be said in a config
  /// file and are named in a comment.
  public static func block(host: String, endpoint: SSHEndpoint) -> String {
    var lines = [
      "Host \(value(host))",
      "  HostName \(value(endpoint.host))",
      "  User \(value(endpoint.user))",
      "  Port \(endpoint.port)",
    ]
    if let jump = endpoint.jump {
      // A ProxyCommand is read to the end of the line as it stands; it is quoted for its shell already.
      let option = jump.openSSHOption
      lines.append("  \(option.key) \(option.key == "ProxyCommand" ? option.value : value(option.value))")
    }
    lines += [
      "  UserKnownHostsFile /dev/null",
      "  StrictHostKeyChecking no",
      "  PasswordAuthentication no",
    ]
    lines += endpoint.identityFiles.map { "  IdentityFile \(value(path: $0))" }
    lines += ["  IdentitiesOnly yes", "  LogLevel FATAL"]
    if endpoint.forwardAgent { lines.append("  ForwardAgent yes") }
    let (options, others) = options(from: endpoint.extraArgs)
    lines += options.map { "  \($0.key) \(value($0.value))" }
    if !others.isEmpty {
      lines.append("  # ssh.extra_args not expressible here: \(others.joined(separator: " "))")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A value as ssh_config (and `ssh -o`) reads it: in double quotes when it holds
  /// blanks, quotes or `#` (with `\` and `"` escaped inside).
  static func value(_ text: String) -> String {
    guard text.isEmpty || text.contains(where: { " \t\"'\\#".contains($0) })
    else { return text }
    return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }

  /// A path for a directive that expands `%` tokens (IdentityFile): `%` becomes `%%`.
  static func value(path: String) -> String {
    value(path.replacingOccurrences(of: "%", with: "%%"))
  }

  /// `-o Key=Value` pairs of an ssh command line, and the arguments that are not such pairs.
  static func options(from args: [String]) -> (options: [(key: String, value: String)], others: [String]) {
    var options: [(key: String, value: String)] = []
    var others: [String] = []
    var index = 0
    while index < args.count {
      var option: String?
      if args[index] == "-o", index + 1 < args.count {
        option = args[index + 1]
        index += 1
      } else if args[index].hasPrefix("-o"), args[index].count > 2 {
        option = String(args[index].dropFirst(2))
      }
      if let option, let split = option.firstIndex(where: { $0 == "=" || $0 == " " }) {
        let value = option[option.index(after: split)...].trimmingCharacters(in: .whitespaces)
        options.append((String(option[..<split]), value))
      } else {
        others.append(option.map { "-o \($0)" } ?? args[index])
      }
      index += 1
    }
    return (options, others)
  }
}
