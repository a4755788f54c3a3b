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
  ],
  targets: [
    // The only module that sees libvirt's C API; found through pkg-config (libvirt-dev).
    .systemLibrary(
      name: "CLibvirt", pkgConfig: "libvirt",
      providers: [.apt(["libvirt-dev"])]),
    .target(name: "Libvirt", dependencies: ["CLibvirt"]),
    .target(name: "Machinefile"),
    // libcurl (Debian libcurl4-openssl-dev) for box downloads; only Boxes imports it.
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]),
    // zlib (Debian zlib1g-dev) for .box archives that are gzip-compressed; only Boxes imports it.
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),
    .target(
      name: "Boxes",
      dependencies: ["Libvirt", "CCurl", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "Core", dependencies: ["Machinefile", "Boxes"]),
    .target(name: "LibvirtDriver", dependencies: ["Core", "Libvirt", "Boxes"]),
    .target(name: "SSH", dependencies: ["Core"]),
    .target(name: "Provisioning", dependencies: ["Core"]),
    .target(
      name: "CaravanCommands",
      dependencies: [
        "Machinefile", "Boxes", "Core", "LibvirtDriver", "SSH", "Provisioning",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "caravan", dependencies: ["CaravanCommands"]),

    .testTarget(
      name: "MachinefileTests", dependencies: ["Machinefile"],
      resources: [.copy("Golden")]),
    .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"]),
    .testTarget(
      name: "LibvirtDriverTests", dependencies: ["LibvirtDriver", "Core", "Machinefile"],
      resources: [.copy("Golden")]),
    .testTarget(name: "CoreTests", dependencies: ["Core", "Machinefile"]),
    // Shared by the test targets: the box server on 127.0.0.1 (scripts/box-server.py).
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "BoxesTests", dependencies: ["Boxes", "TestSupport"]),
    .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
  ],
  swiftLanguageModes: [.v5]
)
