// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "caravan",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "caravan", targets: ["caravan"])
  ],
  dependencies: [
    // The command-line interface: subcommands, flags, help and validation errors.
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // Box checksums (md5, sha1, sha256, sha384, sha512) computed while the bytes stream.
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    // Child processes (ssh, ssh-keygen, host tools): spawning, pipes, signals, exit status.
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    // The build's HTTP server (templates and http_dir for installers), on 127.0.0.1.
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    // YAML: user cloud-configs checked at their Machinefile line and merged with Caravan's user and key.
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // Lowest layer: what every module shares (the one error type, locks, child
    // processes, file-system helpers, the path resolver, hashing, shell quoting).
    .target(name: "Support", dependencies: [.product(name: "Subprocess", package: "swift-subprocess")]),
    // What the language means, as typed values: ProjectSpec, MachineSpec, box
    // versions, version constraints, checksums, IPv4 and IPv6 addresses and subnets.
    .target(name: "Spec", dependencies: ["Support"]),

    // The only module that sees libvirt's C API; found through pkg-config (libvirt-dev).
    .systemLibrary(
      name: "CLibvirt", pkgConfig: "libvirt",
      providers: [.apt(["libvirt-dev"])]),
    .target(name: "Libvirt", dependencies: ["CLibvirt", "Support"]),
    .target(name: "Machinefile", dependencies: ["Spec", "Support", .product(name: "Yams", package: "Yams")]),
    // `caravan init --from Vagrantfile`: a Vagrantfile evaluated by the host's Ruby under a recorder, as a Machinefile.
    .target(name: "VagrantImport", dependencies: ["Machinefile", "Spec", "Support"]),
    // libcurl (Debian libcurl4-openssl-dev) for box downloads; only Boxes imports it.
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]),
    // libarchive (Debian libarchive-dev) unpacks box archives: tar in every variant, zip,
    // gzip/bzip2/xz/zstd, and writes cloud-init seeds (ISO 9660). Only Boxes imports it, and only in
    // ArchiveReader.swift and ISOImageWriter.swift.
    .systemLibrary(
      name: "CArchive", pkgConfig: "libarchive",
      providers: [.apt(["libarchive-dev"])]),
    .target(
      name: "Boxes",
      dependencies: [
        "Spec", "Support", "CCurl", "CArchive", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Yams", package: "Yams"),
      ],
      // The image index (`box add debian/12`): embedded as a string by the plugin, not a bundle.
      exclude: ["Resources"],
      plugins: ["EmbedImageIndex"]),
    // What Caravan knows about the machine it runs on and how it reaches things, with no
    // engine type: host facts and checks (doctor's model), paths, ports, libvirt URIs,
    // the SSH jump for remote hosts.
    .target(name: "Host", dependencies: ["Spec", "Boxes", "Support"]),
    .target(name: "Core", dependencies: ["Host", "Spec", "Machinefile", "Boxes", "Support"]),
    .target(name: "LibvirtDriver", dependencies: ["Core", "Host", "Libvirt", "Boxes", "Spec", "Support"]),
    .target(name: "SSH", dependencies: ["Core", "Host", "Support"]),
    .target(name: "Provisioning", dependencies: ["Core", "Host", "Spec", "Support"]),
    // `caravan build`: Boxfile strategies, template rendering, the build's HTTP server,
    // postinstall; build VMs through LibvirtDriver, packaging through Boxes.
    .target(
      name: "Builder",
      dependencies: [
        "Spec", "Support", "Machinefile", "Boxes", "Host", "Core", "LibvirtDriver", "SSH", "Provisioning",
        .product(name: "FlyingFox", package: "FlyingFox"),
        // FlyingFox's socket layer (addresses, socket errors, buffered byte sequences), imported directly.
        .product(name: "FlyingSocks", package: "FlyingFox"),
      ]),
    .target(
      name: "CaravanCommands",
      dependencies: [
        "Machinefile", "Spec", "Support", "Boxes", "Host", "Core", "LibvirtDriver", "SSH", "Provisioning", "Builder",
        "VagrantImport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      plugins: ["GitVersion"]),
    // Before each build: `caravanVersion` from git (scripts/version.sh), in the plugin's
    // work directory, so `caravan --version` says the Debian package's version.
    .plugin(name: "GitVersion", capability: .buildTool()),
    // Before Boxes builds: Sources/Boxes/Resources/images.json as a Swift string.
    .plugin(name: "EmbedImageIndex", capability: .buildTool()),
    .executableTarget(name: "caravan", dependencies: ["CaravanCommands"]),

    .testTarget(
      name: "MachinefileTests", dependencies: ["Machinefile", "Spec", "Support"],
      resources: [.copy("Golden")]),
    .testTarget(name: "SpecTests", dependencies: ["Spec", "Support"]),
    .testTarget(
      name: "VagrantImportTests", dependencies: ["VagrantImport", "Machinefile", "Support", "TestSupport"],
      resources: [.copy("Vagrantfiles")]),
    .testTarget(name: "LibvirtTests", dependencies: ["Libvirt", "Support"]),
    .testTarget(
      name: "LibvirtDriverTests",
      dependencies: ["LibvirtDriver", "Libvirt", "Host", "Core", "Boxes", "Spec", "Support", "TestSupport"],
      resources: [.copy("Golden")]),
    .testTarget(
      name: "CoreTests", dependencies: ["Host", "Core", "Spec", "Boxes", "Support", "Machinefile", "TestSupport"]),
    .testTarget(name: "HostTests", dependencies: ["Host", "Support"]),
    .testTarget(name: "SSHTests", dependencies: ["SSH", "Host", "Core", "Support", "TestSupport"]),
    .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"]),
    .testTarget(
      name: "ProvisioningTests", dependencies: ["Provisioning", "Host", "Core", "Spec", "Support", "TestSupport"]),
    // Shared by the test targets: the box server on 127.0.0.1 (scripts/box-server.py).
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(
      name: "BuilderTests",
      dependencies: ["Builder", "Host", "Core", "Machinefile", "Spec", "Support", "Boxes", "TestSupport"],
      resources: [.copy("Golden")]),
    // CArchive: the seed tests read the ISO back with libarchive's own ISO 9660 reader.
    .testTarget(
      name: "BoxesTests",
      dependencies: ["Boxes", "Spec", "Support", "TestSupport", "CArchive", .product(name: "Yams", package: "Yams")]),
    .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
