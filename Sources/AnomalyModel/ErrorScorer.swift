#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Turns reconstruction errors into an anomaly score in [0, 1] and an above-threshold
/// decision, with two adaptive tails and an onset filter.
///
/// - The **point tail** fits the stream's recent errors (`TailThreshold`): a single reading far
///   off its reconstruction is surprising.
/// - The **trend tail** fits the mean of the last `smoothing` errors, as HTM's anomaly
///   likelihood does with its short-term average: a run of moderately bad reconstructions (a
///   changed shape, more noise) is surprising even when no single point is.
///
/// - The **channel tail**, for a stream of several channels only, fits the largest single
///   channel's error. The point tail's error is the root mean square over the channels, which
///   dilutes a fault in one of C channels by √C; the largest channel's error does not, but
///   dilutes a shift of all channels together instead. Each catches what the other misses
///   (`tools/synthetic/bench.py`: one channel spiking or decoupling, the whole machine
///   shifting).
///
/// With `P` the smallest of the tails' probabilities, the surprise is `S = −log10 P` and the score is
/// `S / (S + L)` with `L = −log10 risk`: 0 for an ordinary point, exactly ½ at the alarm level
/// (`P = risk`), approaching 1 as the point gets less probable. Unlike `1 − P` it does not round
/// to 1 for every very unlikely point, so scores stay comparable and rankable. The point is
/// above the threshold when its score exceeds ½.
///
/// The **onset filter** (`suppression` > 0) makes the alarm score (`ScoredSample.alarmScore`),
/// not the score: a score that does not exceed every score of the previous `suppression`
/// points is halved there. The first point of an excursion keeps its surprise; the points
/// after it, which only repeat it, do not, so a threshold on the alarm score (NAB's optimiser)
/// sees one incident once. The score itself ranks every point by its surprise, and
/// above-threshold decisions use it.
/// Which evidence gave a point its surprise: what an operator reads first in an event.
public enum AnomalyReason: String, Sendable, Equatable {
  /// Still warming up: nothing is scored.
  case none
  /// The reconstruction error of this reading (the point tail).
  case error
  /// The recent errors on average (the trend tail): a changed shape, more noise.
  case trend
  /// One channel's error (the channel tail, streams of several channels).
  case channel
  /// A reading beyond the stream's historical range.
  case range
  /// A run of exactly repeated readings (a stuck sensor).
  case stuck
  /// The mean of the last block of readings (the slow scale): a change spread over many
  /// readings, each of them ordinary.
  case slow
  /// The last block against the blocks one and two periods earlier (the slow scale's seasonal
  /// check): a day unlike the days before in a stream with a clear daily rhythm.
  case seasonal
  /// One channel against the other channels of the same reading (the cross-channel check):
  /// a channel that stopped agreeing with its siblings.
  case decoupled
  /// A value that a channel of few distinct values has never taken (`DiscreteChannels`): a
  /// flag raised, a state never entered.
  case rareValue = "rare_value"
  /// The channels of few distinct values away from their usual value more often than they
  /// have been (`DiscreteChannels`): error flags firing in a burst, a flag that stays raised.
  case flagRate = "flag_rate"
}

public struct ErrorScorer: Sendable, Equatable {
  public private(set) var point: TailThreshold
  public private(set) var trend: TailThreshold
  /// The channel tail, if any: none for a univariate stream (and for one restored from a
  /// format version 2 checkpoint, which predates it). An array rather than an optional, which
  /// would keep a whole tail's bytes inline in every univariate stream.
  private var channelTails: [TailThreshold]
  public let smoothing: Int
  public let suppression: Int
  private var recentErrors: [Double]
  private var recentErrorsNext = 0
  private var recentErrorSum = 0.0
  private var recentScores: [Double]
  private var recentScoresNext = 0
  /// The maximum of `recentScores` and how many pushes ago it entered, so the onset filter
  /// costs O(1) per point (a rescan only when the maximum leaves the window).
  private var recentMax = 0.0
  private var recentMaxAge = 0

  public init(configuration c: DetectorConfiguration, channels: Int) {
    func tail(correctsForClipping: Bool) -> TailThreshold {
      TailThreshold(
        level: c.thresholdLevel, risk: c.risk, memory: c.thresholdWindow, refitInterval: c.thresholdRefit,
        catchUp: c.thresholdCatchUp, correctsForClipping: correctsForClipping)
    }
    point = tail(correctsForClipping: true)
    alarmSurprise = -log10(c.risk)
    trend = tail(correctsForClipping: false)
    channelTails = channels > 1 ? [tail(correctsForClipping: false)] : []
    smoothing = max(1, c.smoothing)
    suppression = max(0, c.suppression)
    recentErrors = Array(repeating: 0, count: smoothing)
    recentScores = Array(repeating: 0, count: suppression)
  }

  /// −log10 of the risk: the surprise at which a point is anomalous. Stored, not computed: it
  /// is read several times a sample, and `log10` was 5 % of a step's instructions.
  public let alarmSurprise: Double

  /// The score above which a point is anomalous.
  public var alarmScore: Double { 0.5 }
  /// The point tail's alarm level, in error units.
  public var alarmError: Double { point.alarmError }
  public var isCalibrated: Bool { point.isCalibrated }

  private mutating func smoothed(_ error: Double) -> Double {
    recentErrorSum += error - recentErrors[recentErrorsNext]
    recentErrors[recentErrorsNext] = error
    recentErrorsNext = (recentErrorsNext + 1) % smoothing
    return Swift.max(0, recentErrorSum / Double(smoothing))
  }

  /// Records an error seen during warm-up, and the largest channel's error.
  public mutating func record(_ error: Double, largestChannelError: Double = 0) {
    point.record(error)
    trend.record(smoothed(error))
    for i in channelTails.indices { channelTails[i].record(largestChannelError) }
  }

  public mutating func calibrate() {
    point.calibrate()
    trend.calibrate()
    for i in channelTails.indices { channelTails[i].calibrate() }
  }

  /// Scores one error; returns the reported score, whether the point is above threshold, its
  /// surprise `S` (−log10 of its probability, before the onset filter) and which evidence
  /// gave it.
  /// `largestChannelError` is the largest single channel's error (used by streams of several
  /// channels); `stuckSurprise` the surprise of a run of repeated readings
  /// (`StuckReadingCheck`), 0 when there is none; `slowSurprise` the slow scale's, at a reading
  /// that completes a block (`SlowScale`), 0 otherwise; `seasonalSurprise` its seasonal
  /// check's (`SeasonalCheck`), likewise; `crossChannelSurprise` the cross-channel check's
  /// (`CrossChannelCheck`), 0 for a stream without it; `rareValueSurprise` and `flagRateSurprise` the
  /// discrete channels' novelty and rate (`DiscreteChannels`), likewise; `jointIsOneChannel`
  /// whether a single channel makes the joint error.
  public mutating func score(
    _ error: Double, largestChannelError: Double = 0, rangeExcess: Double = 0, stuckSurprise: Double = 0,
    slowSurprise: Double = 0, seasonalSurprise: Double = 0, crossChannelSurprise: Double = 0,
    rareValueSurprise: Double = 0, flagRateSurprise: Double = 0, jointIsOneChannel: Bool = false
  ) -> (score: Double, onsetScore: Double, above: Bool, surprise: Double, reason: AnomalyReason) {
    let pointLog = point.score(error)
    let trendLog = smoothing > 1 ? trend.score(smoothed(error)) : 0
    let channelLog = channelTails.isEmpty ? 0 : channelTails[0].score(largestChannelError)
    let level = alarmSurprise
    var (surprise, reason) = (-pointLog / log(10.0), AnomalyReason.error)
    // The most surprising evidence wins; on a tie, the first in this order.
    func consider(_ candidate: Double, _ source: AnomalyReason) {
      if candidate > surprise { (surprise, reason) = (candidate, source) }
    }
    consider(-trendLog / log(10.0), .trend)
    // When one channel makes the joint error (the others discrete), the largest channel's error
    // is that same number: the channel tail would be a second look at it, another chance of a
    // false alarm. Its fit is kept current all the same.
    if !jointIsOneChannel { consider(-channelLog / log(10.0), .channel) }
    // A reading beyond the range the stream has ever shown is at least at the alarm level.
    if rangeExcess > 0 { consider(level * (1 + rangeExcess), .range) }
    consider(stuckSurprise, .stuck)
    consider(slowSurprise, .slow)
    consider(seasonalSurprise, .seasonal)
    consider(crossChannelSurprise, .decoupled)
    consider(rareValueSurprise, .rareValue)
    consider(flagRateSurprise, .flagRate)
    // Not finite (an infinitely unlikely point, or NaN from a degenerate fit): the maximum.
    surprise = surprise.isFinite ? Swift.max(0, surprise) : .infinity
    let raw = surprise.isFinite ? surprise / (surprise + level) : 1
    let above = raw > alarmScore
    guard suppression > 0 else { return (raw, raw, above, surprise, reason) }
    let onset = raw > recentMax ? raw : raw * 0.5
    pushRecentScore(raw)
    return (raw, onset, above, surprise, reason)
  }

  private mutating func pushRecentScore(_ score: Double) {
    recentScores[recentScoresNext] = score
    recentScoresNext = (recentScoresNext + 1) % suppression
    recentMaxAge += 1
    if score >= recentMax {
      recentMax = score
      recentMaxAge = 0
    } else if recentMaxAge >= suppression {
      // The maximum just left the window: find the new one among what remains.
      recentMax = 0
      recentMaxAge = 0
      for age in 0..<suppression {
        let value = recentScores[(recentScoresNext - 1 - age + 2 * suppression) % suppression]
        if value > recentMax {
          recentMax = value
          recentMaxAge = age
        }
      }
    }
  }

  func encode(into w: inout StateWriter) {
    point.encode(into: &w)
    trend.encode(into: &w)
    w.write(recentErrors)
    w.write(recentErrorsNext)
    w.write(recentErrorSum)
    w.write(recentScores)
    w.write(recentScoresNext)
    w.write(recentMax)
    w.write(recentMaxAge)
    w.write(!channelTails.isEmpty)
    for tail in channelTails { tail.encode(into: &w) }
  }

  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    try point.decode(from: &r, version: version)
    try trend.decode(from: &r, version: version)
    let errors = try r.readDoubles()
    let errorsNext = try r.readInt()
    let errorSum = try r.readDouble()
    let scores = try r.readDoubles()
    let scoresNext = try r.readInt()
    let maximum = try r.readDouble()
    let maximumAge = try r.readCounter()
    guard errors.count == recentErrors.count, scores.count == recentScores.count,
      (0..<max(1, errors.count)).contains(errorsNext), (0..<max(1, scores.count)).contains(scoresNext)
    else { throw .invalid("scorer windows") }
    recentErrors = errors
    recentErrorsNext = errorsNext
    recentErrorSum = errorSum
    recentScores = scores
    recentScoresNext = scoresNext
    recentMax = maximum
    recentMaxAge = maximumAge
    guard version >= 3 else {
      channelTails = []
      return
    }
    guard try r.readBool() == !channelTails.isEmpty else { throw .invalid("channel tail") }
    for i in channelTails.indices { try channelTails[i].decode(from: &r, version: version) }
  }
}
