#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Channels that take only a few distinct values (a command sent, an error flag, a configured
/// limit, a small state), judged by the novelty of their values instead of by their own error.
///
/// A sparse 0/1 channel is unpredictable exactly when it matters least: a command pulse comes
/// when the operator sends it, not when the past says. Normalised by its small standard
/// deviation, each pulse is an error of many deviations, and as the largest single channel's
/// error it raised an event at almost every command (docs/quality.md, the telemetry corpus).
/// What is unusual in such a channel is a value it has never taken.
///
/// Per channel, the first `limit` distinct values are kept. A channel stays discrete while it
/// has shown at most `limit` values; the reading that brings a value beyond them makes it
/// continuous for good. A value a discrete channel has never taken, after `n` readings, has
/// probability `1 / (n + 1)` by Laplace's rule (improbable, never impossible), so its surprise
/// is `log10(n + 1)`, in the units of the error tails: 3.3 after 2,000 readings, above the
/// default alarm level of 3. A value taken before is not evidence. Scoring its frequency
/// instead (`(count + 1) / (n + 1)`) flagged every command rarer than the risk per reading,
/// 98 false events on the telemetry corpus.
///
/// Discrete channels still feed the model (a command is context for what the telemetry does
/// next), the joint error and the cross-channel check, where a pulse is one channel among
/// several; they are left out of the largest single channel's error. Streams of one channel do
/// not have this check: their reconstruction is all they have.
public struct DiscreteChannels: Sendable, Equatable {
  /// The most distinct values a discrete channel takes.
  public let limit: Int
  /// Readings counted.
  private(set) var readings: Int = 0
  /// Per channel, its values in the order first seen (empty for a channel that became
  /// continuous; `continuous[c]` says which).
  private var values: [[Double]]
  private(set) var continuous: [Bool]

  public init(channels: Int, limit: Int) {
    self.limit = limit
    values = Array(repeating: [], count: channels)
    continuous = Array(repeating: false, count: channels)
  }

  /// Whether channel `c` is discrete so far.
  @inline(__always) public func isDiscrete(_ c: Int) -> Bool { !continuous[c] }

  /// The surprise of the discrete channels' readings, measured before they are counted:
  /// `log10(n + 1)` if one takes a value it never took, else 0.
  public func surprise(_ sample: UnsafeBufferPointer<Double>) -> Double {
    for c in 0..<continuous.count where !continuous[c] && !values[c].contains(sample[c]) {
      // A value beyond the limit makes the channel continuous; it is as new as any unseen one.
      return log10(Double(readings + 1))
    }
    return 0
  }

  /// Counts the reading.
  public mutating func update(_ sample: UnsafeBufferPointer<Double>) {
    readings += 1
    for c in 0..<continuous.count where !continuous[c] && !values[c].contains(sample[c]) {
      if values[c].count < limit {
        values[c].append(sample[c])
      } else {
        continuous[c] = true
        values[c] = []
      }
    }
  }

  func encode(into w: inout StateWriter) {
    w.write(readings)
    for c in 0..<continuous.count {
      w.write(continuous[c])
      w.write(values[c])
    }
  }

  mutating func decode(from r: inout StateReader) throws(StateError) {
    readings = try r.readCounter()
    for c in 0..<continuous.count {
      continuous[c] = try r.readBool()
      values[c] = try r.readDoubles(max: limit)
      guard !continuous[c] || values[c].isEmpty, values[c].allSatisfy(\.isFinite) else {
        throw .invalid("discrete channel values")
      }
    }
  }
}
