/// The stable hash of a stream id (FNV-1a, 64 bits): the same id lands on the same worker,
/// shard and cluster partition in every run and on every host. Saved states and partition
/// leases depend on it, so it never changes.
public enum StableHash {
  /// Inlinable: the ingest thread hashes every message's topic.
  @inlinable
  public static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
      hash ^= UInt64(b)
      hash &*= 0x100_0000_01b3
    }
    return hash
  }

  public static func fnv1a(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { fnv1a(UnsafeRawBufferPointer($0)) }
  }

  /// Which of `count` shares a hash falls in: the high half, so that the low half stays
  /// independent of it for the choice of worker (`hash % workers`).
  @inlinable
  public static func share(of hash: UInt64, count: Int) -> Int {
    Int((hash >> 32) % UInt64(count))
  }

  /// Which of `count` cluster partitions a hash falls in. FNV-1a's high bits barely change
  /// between short ids that differ in their last characters ("s1", "s2", …: 200 such ids
  /// fall in 3 of 64 shares), so the hash is mixed first (the SplitMix64 finaliser).
  @inlinable
  public static func partition(of hash: UInt64, count: Int) -> Int {
    Int(mix(hash) % UInt64(count))
  }

  /// The SplitMix64 finaliser: every output bit depends on every input bit.
  @inlinable
  public static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
