// The Machinefile `caravan init` writes.

extension Machinefile {
  /// What `caravan init` writes: a starter Machinefile for `box`, commented (each
  /// setting said, the optional ones commented out), or with `minimal` only its two lines.
  /// `image`: `box` is an image index name (`caravan init --image debian/12`), and the
  /// root disk's size and cloud-init come with it.
  public static func starter(box: String, minimal: Bool, image: Bool = false) -> String {
    if minimal {
      return """
        version 1
        box "\(box)"
        \(image ? "disk 20GiB\n" : "")
        """
    }
    if image { return imageStarter(box: box) }
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

  static func imageStarter(box: String) -> String {
    """
    # Machinefile: the machines of this project. `caravan validate` checks it,
    # `caravan up` brings them up. Top-level settings are defaults for every machine.
    version 1

    # A distribution's cloud image from Caravan's image index (`caravan box add --list-images`):
    # downloaded and checked against its checksum file on the first `up`. cloud-init in the
    # image makes the login user (vagrant, with sudo) and its key from Caravan's seed.
    box "\(box)"

    # Size of each machine; cloud images come with a small root disk, grown to `disk`.
    memory 1GiB
    cpus 2
    disk 20GiB

    # cloud-init data of your own, merged with Caravan's user and key.
    # cloud_init inline: \"\"\"
    #   #cloud-config
    #   packages: [nginx]
    #   \"\"\"

    # Ports on the host's 127.0.0.1 forwarded into the guest (SSH is forwarded by itself).
    # forward 8080 -> 80

    # Commands run in the guest on the first `up`, after cloud-init has finished.
    # provision shell, name: "setup", inline: "echo hello from $(hostname)"

    # UEFI, a TPM, a blank data disk:
    # libvirt { firmware uefi; tpm true }
    # volume "data", size: 10GiB

    """
  }
}
