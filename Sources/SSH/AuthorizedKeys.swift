import Support

/// The guest commands of `replaceKey`: add the machine's key, then (once it is
/// known to log in) remove the insecure keys, so that nobody is ever locked out.
extension OpenSSHCommunicator {
  static let authorizedKeys = "~/.ssh/authorized_keys"
  static let authorizedKeysTemporary = "~/.ssh/authorized_keys.caravan"

  /// Adds `publicKey` (one line) to ~/.ssh/authorized_keys unless it is there,
  /// keeping every other line, and makes ~/.ssh 0700 and the file 0600 as sshd
  /// wants them. A last line without its newline gets one first, so the key
  /// does not join it. Ends with `sync`: the key must survive a guest that is
  /// powered off hard right after, since the next step may remove the old key.
  static func addKeyCommand(publicKey: String) -> String {
    let key = shellQuote(publicKey)
    let file = authorizedKeys
    return [
      "umask 077", "mkdir -p ~/.ssh", "chmod 700 ~/.ssh", "touch \(file)", "chmod 600 \(file)",
      "{ grep -qxF -e \(key) \(file) || { { [ -z \"$(tail -c 1 \(file))\" ] || echo >> \(file); }"
        + " && printf '%s\\n' \(key) >> \(file); }; }",
      "sync",
    ].joined(separator: " && ")
  }

  /// Removes the lines holding an insecure key (`InsecureKeys.publicKeyBodies`)
  /// and keeps all others. The result goes to a temporary file first, which
  /// replaces ~/.ssh/authorized_keys only if it holds `publicKey` (the key that
  /// was just shown to log in), once it is on disk; every step depends on the
  /// one before (`&&`), so a failure anywhere leaves the file as it was (and
  /// removes the temporary one): never an empty file, never one without the key.
  static func removeInsecureKeysCommand(keeping publicKey: String) -> String {
    let patterns = InsecureKeys.publicKeyBodies.map { "-e \(shellQuote($0))" }.joined(separator: " ")
    let (file, temporary) = (authorizedKeys, authorizedKeysTemporary)
    return [
      "umask 077", "grep -v -F \(patterns) \(file) > \(temporary)",
      "grep -qxF -e \(shellQuote(publicKey)) \(temporary)",
      "sync", "mv -f \(temporary) \(file)", "sync",
    ].joined(separator: " && ") + " || { rm -f \(temporary); false; }"
  }
}
