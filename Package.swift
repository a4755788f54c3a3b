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
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // The only module that sees libvirt's C API; found through pkg-config (libvirt-dev).
    .systemLibrary(
      name: "CLibvirt", pkgConfig: "libvirt",
      providers: [.apt(["libvirt-dev"])]),
    .target(name: "Libvirt", dependencies: ["CLibvirt"]),
    .target(name: "Machinefile"),
    .target(name: "Boxes", dependencies: ["Libvirt"]),
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
    .testTarget(name: "BoxesTests", dependencies: ["Boxes"]),
    .testTarget(name: "EndToEndTests"),
  ],
  swiftLanguageModes: [.v5]
)
