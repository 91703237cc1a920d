import AnomalyModel
import Wire

/// One stream as its worker keeps it: the detector plus what the control socket reports.
final class StreamState {
  let id: String
  let detector: StreamDetector
  var samples: UInt64 = 0
  var anomalies: UInt64 = 0
  var lastSeenMs: Int64 = 0
  var lastTimestampMs: Int64 = .min
  /// The first reading's timestamp since this daemon started, and the readings since: the
  /// stream's reading interval, for its event rate per day (`EventRate`).
  var firstTimestampMs: Int64?
  var timedReadings: UInt64 = 0
  var lastAnomalyMs: Int64 = 0
  var lastScore = 0.0
  var lastError = 0.0
  /// Which evidence gave the last score (see `AnomalyReason`).
  var lastReason = AnomalyReason.none
  /// Set on every sample; cleared as the eviction clock passes (second-chance LRU).
  var referenced = true
  /// Where this stream sits in its worker's dirty list (changed since the last checkpoint),
  /// or -1. The position lets an evicted stream leave the list at once, so the memory of
  /// evicted streams is freed at eviction, not held until the next checkpoint.
  var dirtySlot = -1
  var isDirty: Bool { dirtySlot >= 0 }
  /// The state file has a row for this stream (restored, or written by a checkpoint), so
  /// forgetting the stream must delete it; a stream never saved needs no deletion.
  var isSaved = false
  /// The last readings, for plots and for the timestamps of an event's moments; nil when
  /// `server.stream_history` is 0 (created at the stream's first reading, empty after a
  /// restart: it is not checkpointed).
  var history: StreamHistory?
  /// The situations of the last few events (`StreamDetector.eventPattern`), by sequence and
  /// time, for `anomalyctl feedback`; empty for a stream without events (or the history
  /// attention). Not checkpointed: feedback is for recent events.
  var recentEvents: [(sequence: UInt64, timestampMs: Int64, pattern: [Float])] = []
  static let recentEventCount = 8
  /// What the last event drew on, for `anomalyctl stream`.
  var lastMoments: [ScoreEvent.Moment] = []
  var lastErrorChannels: [Int] = []
  /// An alert for this stream's episode was sent to the Alertmanager and not yet resolved.
  var alertOpen = false
  /// Sequence number of the next event published for this stream.
  var nextSequence: UInt64 = 0
  /// The most recent scores, oldest first once full (`recentScoresNext` marks the start).
  var recentScores: [Double] = []
  var recentScoresNext = 0
  static let recentScoreCount = 32

  init(id: String, detector: StreamDetector) {
    self.id = id
    self.detector = detector
  }

  func remember(score: Double) {
    if recentScores.count < StreamState.recentScoreCount {
      recentScores.append(score)
    } else {
      recentScores[recentScoresNext] = score
      recentScoresNext = (recentScoresNext + 1) % StreamState.recentScoreCount
    }
  }

  var recentScoresInOrder: [Double] {
    Array(recentScores[recentScoresNext...] + recentScores[..<recentScoresNext])
  }

  func summary() -> StreamSummary {
    StreamSummary(
      id: id, channels: detector.channels, hidden: detector.model.shape.hidden, samples: samples,
      anomalies: anomalies,
      eventRate: EventRate(
        events: anomalies, samples: samples, warmup: detector.configuration.warmup, timedReadings: timedReadings,
        timedSpanMs: firstTimestampMs.map { lastTimestampMs &- $0 } ?? 0),
      slowBlocks: detector.slow?.blocks, seasonalPeriods: detector.slow?.seasonalPeriods,
      checksCrossChannel: detector.checksCrossChannel,
      lastSeenMs: lastSeenMs, lastAnomalyMs: lastAnomalyMs, lastScore: lastScore,
      lastError: lastError, lastReason: lastReason.rawValue, repeatRun: detector.stuck.currentRun,
      warmup: detector.configuration.warmup, warmingUp: detector.isWarmingUp, inEpisode: detector.isAnomalousNow,
      threshold: detector.threshold.alarmScore, errorThreshold: detector.threshold.alarmError,
      recentScores: recentScoresInOrder, lastMoments: lastMoments, lastErrorChannels: lastErrorChannels,
      feedbackPatterns: detector.accepted.patterns.count, feedbackSuppressed: detector.accepted.suppressed,
      mean: detector.normaliser.mean, scale: (0..<detector.channels).map(detector.normaliser.scale))
  }
}

/// A copy of a stream's state for the control socket, taken on the worker thread.
struct StreamSummary: Sendable {
  var id: String
  var channels: Int
  /// The size of the stream's GRU state: fixed when the stream was created (the automatic
  /// size follows its channel count), kept across restarts.
  var hidden: Int
  var samples: UInt64
  var anomalies: UInt64
  var eventRate: EventRate
  /// Blocks the slow scale has completed (it scores after `slow_warmup` of them); nil when the
  /// stream has none (`slow_block = 0`, or restored from a checkpoint older than the slow scale).
  var slowBlocks: UInt64?
  /// Each channel's period in blocks found by the seasonal check (0: none so far); nil when
  /// the check is off.
  var seasonalPeriods: [Int]?
  /// Whether the stream's channels are checked against each other (`CrossChannelCheck`).
  var checksCrossChannel: Bool
  var lastSeenMs: Int64
  var lastAnomalyMs: Int64
  var lastScore: Double
  var lastError: Double
  var lastReason: String
  /// Readings in a row that repeated the one before, on the channel with the longest such run.
  var repeatRun: Int
  /// Readings the stream learns from before it can raise an alarm: fixed when it was created
  /// (the automatic warm-up follows its model's size), kept across restarts.
  var warmup: Int
  var warmingUp: Bool
  /// The stream is anomalous now (`StreamDetector.isAnomalousNow`).
  var inEpisode: Bool
  var threshold: Double
  var errorThreshold: Double
  var recentScores: [Double]
  /// What the last event drew on (`ScoreEvent.moments`, `errorChannels`).
  var lastMoments: [ScoreEvent.Moment]
  var lastErrorChannels: [Int]
  /// Situations marked normal by feedback, and the points they kept from alarming.
  var feedbackPatterns: Int
  var feedbackSuppressed: UInt64
  var mean: [Double]
  var scale: [Double]
}
