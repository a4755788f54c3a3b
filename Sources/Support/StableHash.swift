/// A short hash that stays the same across runs and machines (FNV-1a, 64 bit),
/// for names derived from paths: pool volumes, domain names.
public enum StableHash {
  public static func fnv1a64(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
  }

  /// The first `length` hex digits.
  public static func hex(_ text: String, length: Int) -> String {
    String(String(fnv1a64(text), radix: 16).prefix(length))
  }
}
