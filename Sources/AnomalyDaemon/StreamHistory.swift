/// The last `capacity` readings of one stream as its detector saw them: what `anomalyctl plot`
/// draws, and where an event's past moments find their timestamps.
///
/// Compact on purpose, since every stream carries one: per reading 8 bytes of timestamp, 12
/// per channel (value, expected value, threshold band as Float) and 2 of score and flags, in
/// three allocations; 2,112 bytes for a univariate stream at the default 96 readings.
struct StreamHistory {
  struct Row: Sendable {
    var timestampMs: Int64
    var values: [Float]
    var expected: [Float]
    /// Half-width of the band around `expected` a channel stays within while the stream's
    /// reconstruction error is below its threshold (the other channels exact).
    var band: [Float]
    /// The score, quantised to 1/255.
    var score: Float
    var anomaly: Bool
    var inEpisode: Bool
    var warmingUp: Bool
  }

  /// A copy for the control thread.
  struct Snapshot: Sendable {
    var channels: Int
    var rows: [Row]
  }

  static let anomalyFlag: UInt8 = 1
  static let episodeFlag: UInt8 = 2
  static let warmupFlag: UInt8 = 4

  let capacity: Int
  let channels: Int
  private(set) var count = 0
  /// Where the next reading goes; the newest is just before it.
  private var next = 0
  private var timestamps: [Int64]
  /// Per reading, `channels` values, then as many expected values, then as many bands.
  private var floats: [Float]
  /// Per reading, the quantised score and the flags.
  private var marks: [UInt8]

  init(capacity: Int, channels: Int) {
    self.capacity = capacity
    self.channels = channels
    timestamps = Array(repeating: 0, count: capacity)
    floats = Array(repeating: 0, count: capacity * channels * 3)
    marks = Array(repeating: 0, count: capacity * 2)
  }

  /// Bytes it holds, for the docs' memory figures.
  var bytes: Int { capacity * (8 + 12 * channels + 2) }

  mutating func append(
    timestampMs: Int64, values v: UnsafeBufferPointer<Double>, expected e: [Double], bands: (Int) -> Double,
    score: Double, flags f: UInt8
  ) {
    guard capacity > 0 else { return }
    timestamps[next] = timestampMs
    let base = next * channels * 3
    for c in 0..<channels {
      floats[base + c] = Float(v[c])
      floats[base + channels + c] = Float(e[c])
      floats[base + 2 * channels + c] = Float(bands(c))
    }
    marks[2 * next] = UInt8((min(max(score, 0), 1) * 255).rounded())
    marks[2 * next + 1] = f
    next = (next + 1) % capacity
    count = min(count + 1, capacity)
  }

  /// The timestamp of the reading `readingsBack` before the newest (0: the newest itself);
  /// nil when that one is no longer kept.
  func timestamp(readingsBack: Int) -> Int64? {
    guard readingsBack >= 0, readingsBack < count else { return nil }
    return timestamps[(next - 1 - readingsBack + 2 * capacity) % capacity]
  }

  /// Every kept reading, oldest first.
  func rows() -> [Row] {
    (0..<count).map { k in
      let i = (next - count + k + capacity) % capacity
      let base = i * channels * 3
      let flags = marks[2 * i + 1]
      return Row(
        timestampMs: timestamps[i], values: Array(floats[base..<(base + channels)]),
        expected: Array(floats[(base + channels)..<(base + 2 * channels)]),
        band: Array(floats[(base + 2 * channels)..<(base + 3 * channels)]), score: Float(marks[2 * i]) / 255,
        anomaly: flags & Self.anomalyFlag != 0, inEpisode: flags & Self.episodeFlag != 0,
        warmingUp: flags & Self.warmupFlag != 0)
    }
  }
}
