/// A small seedable random number generator (Steele, Lea and Flood's SplitMix64).
///
/// The detector must be deterministic: the same input and seed give the same scores, in the
/// daemon, in `anomalyctl replay` and in tests. The system generator cannot be seeded, so
/// every random choice in the model (weight initialisation) draws from this one.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) {
    state = seed
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform draw in [-1, 1).
  public mutating func nextSymmetricUnit() -> Float {
    let bits = next() >> 40  // 24 significant bits
    return Float(bits) / Float(1 << 23) - 1
  }
}
