// The Machinefile `caravan init` writes.

extension Machinefile {
  /// What `caravan init` writes: a starter Machinefile for `box`, commented (each
  /// setting said, the optional ones commented out), or with `minimal` only its two lines.
  public static func starter(box: String, minimal: Bool) -> String {
    if minimal {
      return """
        version 1
        box "\(box)"

        """
    }
    return """
      # Machinefile: the machines of this project. `caravan validate` checks it,
      # `caravan up` brings them up. Top-level settings are defaults for every machine.
      version 1

      # The base box, as `caravan box list` names it; pin versions with version: "~> 12.0".
      box "\(box)"

      # Size of each machine.
      memory 1GiB
      cpus 2

      # Ports on the host's 127.0.0.1 forwarded into the guest (SSH is forwarded by itself).
      # forward 8080 -> 80

      # Commands run in the guest on the first `up` (run: always runs them on every `up`).
      # provision shell, name: "setup", inline: \"\"\"
      #   apt-get update
      #   apt-get install -y nginx
      #   \"\"\"

      # More machines: each block overrides the defaults above.
      # machine "db", autostart: false {
      #   memory 2GiB
      # }

      """
  }
}
