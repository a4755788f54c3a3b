import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// The checksum files distributions publish beside their cloud images.
struct ChecksumFileTests {
  let sha512A = String(repeating: "a1", count: 64)
  let sha512B = String(repeating: "b2", count: 64)
  let sha256 = String(repeating: "c3", count: 32)

  /// Debian's SHA512SUMS: `HEX  FILE`, one line per file of the folder.
  @Test func gnuFormatFindsTheImagesLineAmongOtherFiles() throws {
    let text = """
      \(sha512B)  debian-12-genericcloud-amd64.json
      \(sha512A)  debian-12-genericcloud-amd64.qcow2
      \(sha512B)  debian-12-genericcloud-amd64.raw
      """
    let file = ChecksumFile.parse(text, source: "https://example.org/SHA512SUMS")
    #expect(file.entries.count == 3)
    let checksum = try file.checksum(for: "debian-12-genericcloud-amd64.qcow2")
    #expect(checksum == (try Checksum(kind: .sha512, hex: sha512A)))
  }

  /// Ubuntu's SHA256SUMS marks binary files with `*`; the type follows from the digits.
  @Test func binaryMarkersAndTheTypeFromTheLength() throws {
    let text = """
      \(String(repeating: "0", count: 64)) *noble-server-cloudimg-amd64-root.tar.xz
      \(sha256.uppercased()) *noble-server-cloudimg-amd64.img
      """
    let checksum = try ChecksumFile.parse(text, source: "SHA256SUMS").checksum(for: "noble-server-cloudimg-amd64.img")
    #expect(checksum.kind == .sha256)
    #expect(checksum.hex == sha256, "lowercased")
  }

  /// Fedora's CHECKSUM: BSD lines inside a PGP-signed message, with `#` comments.
  @Test func bsdFormatInsideAPGPSignedMessage() throws {
    let text = """
      -----BEGIN PGP SIGNED MESSAGE-----
      Hash: SHA256

      # Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2: 493355008 bytes
      SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = \(sha256)
      # Fedora-Cloud-Base-AmazonEC2-41-1.4.x86_64.raw.xz: 1 bytes
      SHA256 (Fedora-Cloud-Base-AmazonEC2-41-1.4.x86_64.raw.xz) = \(String(repeating: "d", count: 64))
      -----BEGIN PGP SIGNATURE-----

      iQIzBAEBCAAdFiEEgfUhuJrHk/3e7+Xn4OFqNgsRlbUFAmcvlnEACgkQ4OFqNgsR
      lbUFAmcvlnEACgkQ4OFqNgsR
      -----END PGP SIGNATURE-----
      """
    let file = ChecksumFile.parse(text, source: "CHECKSUM")
    #expect(file.entries.map(\.fileName).count == 2, "\(file.entries)")
    let checksum = try file.checksum(for: "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2")
    #expect(checksum == (try Checksum(kind: .sha256, hex: sha256)))
    let sha512Line = "SHA512 (x.qcow2) = \(sha512A)"
    #expect(try ChecksumFile.parse(sha512Line, source: "S").checksum(for: "x.qcow2").kind == .sha512)
  }

  @Test func commentsBlankLinesAndDotSlashAreIgnored() throws {
    let text = "# made by sha512sum\n\n\r\n\(sha512A)  ./image.qcow2\r\n"
    #expect(try ChecksumFile.parse(text, source: "S").checksum(for: "image.qcow2").hex == sha512A)
  }

  @Test func aMissingLineNamesTheFileAndTheImage() throws {
    let file = ChecksumFile.parse("\(sha512A)  other.qcow2\n", source: "http://127.0.0.1:1/SHA512SUMS")
    let error = try #require(throws: CaravanError.self) { try file.checksum(for: "debian-12.qcow2") }
    #expect(error.message == "the checksum file http://127.0.0.1:1/SHA512SUMS has no line for 'debian-12.qcow2'")
    #expect(error.hint?.contains("other.qcow2") == true, "\(error)")
    let empty = try #require(throws: CaravanError.self) {
      try ChecksumFile.parse("<html>not found</html>", source: "S").checksum(for: "a.img")
    }
    #expect(empty.hint?.contains("lists no file at all") == true, "\(empty)")
  }

  /// A digest of a length no type has, or a bad type, is an error only on the image's own line.
  @Test func aWrongLengthIsReportedOnlyForTheImagesLine() throws {
    let text = """
      abc123  broken.qcow2
      \(sha512A)  fine.qcow2
      SHA256 (short.img) = abcd
      MD4 (odd.img) = \(sha256)
      """
    let file = ChecksumFile.parse(text, source: "SUMS")
    #expect(try file.checksum(for: "fine.qcow2").hex == sha512A)
    let broken = try #require(throws: CaravanError.self) { try file.checksum(for: "broken.qcow2") }
    #expect(broken.message.hasPrefix("line 1 of the checksum file SUMS, for 'broken.qcow2': a digest of 6 hex digits"))
    let short = try #require(throws: CaravanError.self) { try file.checksum(for: "short.img") }
    #expect(short.message.contains("line 3") && short.message.contains("it needs 64 hex digits"), "\(short)")
    let odd = try #require(throws: CaravanError.self) { try file.checksum(for: "odd.img") }
    #expect(odd.message.contains("'MD4' is not a checksum type"), "\(odd)")
  }

  @Test func theImageFileNameComesFromTheURLPath() {
    #expect(ChecksumFile.imageFileName(of: "https://h/a/b/x%20y.qcow2?token=1#f") == "x y.qcow2")
    #expect(ChecksumFile.imageFileName(of: "/srv/images/debian.raw") == "debian.raw")
  }
}
