#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Channels that take only a few distinct values (a command sent, an error flag, a configured
/// limit, a small state), judged by the novelty and the rate of their values instead of by
/// their reconstruction error.
///
/// A sparse 0/1 channel is unpredictable exactly when it matters least: a command pulse comes
/// when the operator sends it, not when the past says. Normalised by its small standard
/// deviation, each pulse is an error of many deviations. In the largest single channel's error
/// it raised an event at almost every command; in the joint error it hid the telemetry beside
/// it (docs/quality.md, the telemetry corpus). So in a stream that also has continuous
/// channels, discrete ones leave the joint error, the largest-channel tail and the
/// cross-channel check. They still feed the model: a command is context for what the telemetry
/// does next. A stream of discrete channels alone keeps their reconstruction, which is all it
/// has; streams of one channel do not have this check.
///
/// Per channel, the first `limit` distinct values are kept, with how often each was taken. A
/// channel stays discrete while it has shown at most `limit` values; the reading that brings a
/// value beyond them makes it continuous for good. Two kinds of evidence, in the units of the
/// error tails (−log10 of a probability):
///
/// - **Novelty.** A value a discrete channel has never taken, after `n` readings, has
///   probability `1 / (n + 1)` by Laplace's rule (improbable, never impossible), so its surprise
///   is `log10(n + 1)`: 3.3 after 2,000 readings, above the default alarm level of 3. Scoring
///   every value by its frequency instead flagged each command rarer than the risk per reading
///   (98 false events on the telemetry corpus).
/// - **Rate.** A channel is *away* when it is not at its most frequent value. The number of
///   channels away, averaged over the last `memory` readings, is compared with its long-run
///   mean as a Poisson count: `k` away-readings in a window where `λ` are expected has
///   surprise at least `(k ln(k/λ) − k + λ) / ln 10` (the Chernoff bound on `P(N ≥ k)`). Error
///   flags firing in a burst, or a flag that stays raised, are unusual by their rate; a command
///   as frequent as ever is not.
public struct DiscreteChannels: Sendable, Equatable {
  /// The most distinct values a discrete channel takes.
  public let limit: Int
  /// The rate check's memory, in readings (`smoothing`, the trend tail's).
  public let memory: Int
  /// Readings counted.
  private(set) var readings: Int = 0
  /// Per channel, its values in the order first seen (empty for a channel that became
  /// continuous; `continuous[c]` says which).
  private(set) var values: [[Double]]
  /// Per channel, how often each of its values was taken in the last `counted` readings.
  private var counts: [[Double]]
  /// Readings in `counts` (fewer than `readings` after a restore of a format 11 state, which
  /// has no counts).
  private(set) var counted: Int = 0
  private(set) var continuous: [Bool]
  /// The recent mean number of discrete channels away from their usual value (an average with
  /// memory `memory`), including the reading scored last.
  private(set) var recentAway = 0.0

  public init(channels: Int, limit: Int, memory: Int) {
    self.limit = limit
    self.memory = max(1, memory)
    values = Array(repeating: [], count: channels)
    counts = Array(repeating: [], count: channels)
    continuous = Array(repeating: false, count: channels)
  }

  /// Whether channel `c` is discrete so far.
  @inline(__always) public func isDiscrete(_ c: Int) -> Bool { !continuous[c] }

  /// Whether any channel is continuous: if none is, the reconstruction of the discrete ones is
  /// all the stream has, and they stay in its joint error.
  public var hasContinuousChannel: Bool { continuous.contains(true) }

  /// Scores the reading, then counts it. Returns the novelty surprise (`log10(n + 1)` if a
  /// discrete channel takes a value it never took, else 0) and the rate surprise (the recent
  /// number of channels away from their usual value against its long-run rate).
  public mutating func observe(_ sample: UnsafeBufferPointer<Double>) -> (novelty: Double, rate: Double) {
    var novelty = 0.0
    var away = 0
    var awayTotal = 0.0
    for c in 0..<continuous.count where !continuous[c] {
      // The usual value is the most frequent so far (the first seen on a tie).
      var usual = 0
      for i in counts[c].indices where counts[c][i] > counts[c][usual] { usual = i }
      awayTotal += Double(counted) - (counts[c].isEmpty ? 0 : counts[c][usual])
      if let index = values[c].firstIndex(of: sample[c]) {
        if index != usual { away += 1 }
        counts[c][index] += 1
        continue
      }
      // A value beyond the limit makes the channel continuous; it is as new as any unseen one.
      novelty = log10(Double(readings + 1))
      away += 1
      if values[c].count < limit {
        values[c].append(sample[c])
        counts[c].append(1)
      } else {
        continuous[c] = true
        values[c] = []
        counts[c] = []
      }
    }
    recentAway += (Double(away) - recentAway) / Double(memory)
    let rate = DiscreteChannels.rateSurprise(
      recent: Double(memory) * recentAway, expected: Double(memory) * (awayTotal + 1) / Double(counted + 1))
    readings += 1
    counted += 1
    return (novelty, rate)
  }

  /// −log10 of the Chernoff bound on P(N ≥ k) for a Poisson count N of mean λ:
  /// `k ln(k/λ) − k + λ` nats when k > λ, else 0. A bound, so the surprise is never overstated.
  static func rateSurprise(recent k: Double, expected λ: Double) -> Double {
    guard k > λ, λ > 0 else { return 0 }
    return (k * log(k / λ) - k + λ) / 2.302_585_092_994_046  // ln 10
  }

  func encode(into w: inout StateWriter) {
    w.write(readings)
    for c in 0..<continuous.count {
      w.write(continuous[c])
      w.write(values[c])
    }
    w.write(counted)
    w.write(recentAway)
    for c in 0..<continuous.count { w.write(counts[c]) }
  }

  /// Format 11 states have the values only: their counts start at 0.
  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    readings = try r.readCounter()
    for c in 0..<continuous.count {
      continuous[c] = try r.readBool()
      values[c] = try r.readDoubles(max: limit)
      guard !continuous[c] || values[c].isEmpty, values[c].allSatisfy(\.isFinite) else {
        throw .invalid("discrete channel values")
      }
      counts[c] = Array(repeating: 0, count: values[c].count)
    }
    guard version >= 12 else { return }
    counted = try r.readCounter()
    recentAway = try r.readDouble()
    guard counted <= readings, recentAway.isFinite, (0...Double(continuous.count)).contains(recentAway) else {
      throw .invalid("discrete channel rate")
    }
    for c in 0..<continuous.count {
      counts[c] = try r.readDoubles(max: limit)
      guard counts[c].count == values[c].count, counts[c].allSatisfy({ $0 >= 0 && $0 <= Double(counted) }) else {
        throw .invalid("discrete channel counts")
      }
    }
  }
}
