import Testing

@testable import Builder

/// The rootfs strategy's package list: base packages first, a `packages:` item split at
/// commas and blanks (a `${var}` may name several or none), each package once.
struct RootfsPackagesTests {
  @Test func itemsAreSplitAndEmptyOnesDropped() {
    let packages = RootfsStrategy.packages(["less", "python3,puppet", "", " vim  curl ,", "less", "sudo"])
    #expect(packages == RootfsStrategy.basePackages + ["less", "python3", "puppet", "vim", "curl"])
  }

  @Test func anEmptyVariableAddsNothing() {
    #expect(RootfsStrategy.packages(["", "  "]) == RootfsStrategy.basePackages)
  }
}
