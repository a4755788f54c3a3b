import Foundation
import Support

/// How every provisioner puts a file in the guest: written from standard input to a fresh,
/// private path in /tmp, used, removed and synced to disk, in one guest command.
extension GuestProvisioner {
  static func scriptFilePrefix(name: String) -> String {
    "/tmp/caravan-shell-" + String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }) + "."
  }

  /// A new path for a script in the guest's /tmp: the provisioner's name and ten random
  /// letters and digits chosen here (nobody in the guest can guess them).
  public static func freshPath(name: String) -> String {
    let characters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    return scriptFilePrefix(name: name) + String((0..<10).map { _ in characters[Int.random(in: characters.indices)] })
  }

  /// The status of a `staged` command whose file could not be written.
  public static let stagingFailed: Int32 = 97

  /// One guest command that saves its standard input at `path`, runs `command`,
  /// removes the file and syncs, exiting with the command's status. `exclusive`: the
  /// file must be new (noclobber opens it with O_EXCL, so nothing planted there, file or
  /// symbolic link, is ever used, as with mktemp); it is private (mode 0600) either way.
  /// The `sync` (any user may run it) puts what the command wrote on the guest's disk
  /// before the command returns, in the same round trip: Caravan records a provisioner
  /// as run only after that, so a hard power-off then never loses its work.
  public static func staged(at path: String, exclusive: Bool, then command: String) -> String {
    let quoted = shellQuote(path)
    return "(umask 077 && \(exclusive ? "set -C && " : "")cat > \(quoted)) || "
      + "{ printf \"caravan: cannot write '%s' in the guest\\n\" \(quoted) >&2; exit \(stagingFailed); }; "
      + "\(command); s=$?; rm -f \(quoted); \(syncCommand); exit $s"
  }

  /// What ends every provisioner's guest command: the guest's writes, on its disk.
  public static let syncCommand = "sync"
}
