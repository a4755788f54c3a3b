import Support
import Testing

struct ByteSizeTests {
  /// Doctor's free space.
  @Test func reportSizes() {
    #expect(ByteSize.text(512 as UInt64) == "512 bytes")
    #expect(ByteSize.text(1536 << 20 as UInt64) == "1.5 GiB")
    #expect(ByteSize.text(300 << 20 as UInt64) == "300 MiB")
  }

  /// Download progress.
  @Test func progressSizes() {
    #expect(ByteSize.text(512.0, style: .progress) == "512 B")
    #expect(ByteSize.text(450.0 * 1024 * 1024, style: .progress) == "450.0 MiB")
    #expect(ByteSize.text(Double(1 << 30), style: .progress) == "1.0 GiB")
  }
}
