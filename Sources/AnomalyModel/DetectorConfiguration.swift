/// Every tunable of the per-stream detector, with the defaults users get.
///
/// The daemon and `anomalyctl replay` build detectors from the same value, read from the
/// `[detector]` section of the config file (see config/anomalyd.toml for each key's meaning).
public struct DetectorConfiguration: Sendable, Equatable {
  /// GRU hidden state size (H); 0 sizes it from the stream's channel count
  /// (`automaticHidden(channels:)`), since a wider stream needs a wider state to summarise it.
  public var hidden = 0
  /// Query/key size of the attention (D).
  public var attentionDim = 8
  /// How many recent steps the attention can look back over (W).
  public var window = 32
  /// Seed of the weight initialisation; with the same input it fixes every output.
  public var seed: UInt64 = 42

  /// Online SGD step size.
  public var learningRate = 0.01
  /// Multiplier of the learning rate (and normaliser weight) on points above the threshold,
  /// so the model learns much less from anomalies.
  public var anomalyLearningFactor = 0.1
  /// When at least this fraction of the recent points (an average over about
  /// `StreamDetector.relearnMemory`) were above the threshold, the stream has changed rather
  /// than misbehaved, and points above it are learned in full again (0 turns it off: they are
  /// always learned at `anomalyLearningFactor`).
  public var relearnFraction = 0.1
  /// Memory, in readings, of the read-out refitted by recursive least squares on the model's
  /// features (`RecursiveReadout`); 0 turns the refit off and the SGD read-out reconstructs.
  public var readoutMemory = 2000
  /// How many readings' worth of confidence the refit starts with in the SGD read-out.
  public var readoutPrior = 50.0
  /// How far back, in readings, the history attention looks for moments like the latest one
  /// (`HistoryAttention`); 0 turns it off. 256 measured as well as 512 on every corpus at
  /// half the cost (docs/quality.md, "The history attention"); 8 bytes per channel and lag.
  public var historyLength = 256
  /// The length, in readings, of the subsequences the history attention compares.
  public var historyMatch = 32
  /// Errors beyond this (in standard deviations) count linearly, not quadratically.
  public var huberDelta = 1.0
  /// Gradient steps longer than this are shortened to it.
  public var maxGradientNorm = 1.0

  /// Slowest forgetting rate of the input normaliser (≈ 1 / memory in samples).
  public var normaliserRate = 0.0001
  /// Normalised inputs are clipped to ±this many standard deviations.
  public var inputClip = 8.0

  /// Samples learned from before any alarm can fire; the threshold calibrates at its end. 0
  /// sets it from the model's size (`automaticWarmup(hidden:)`), since a wider model takes
  /// longer to learn before its errors describe the stream.
  public var warmup = 0
  /// Quantile of recent errors where the fitted tail starts (SPOT's `level`).
  public var thresholdLevel = 0.9
  /// Probability of a normal error exceeding the alarm threshold (SPOT's `q`).
  public var risk = 1e-3
  /// Memory of the threshold's running fit, in errors (how fast it forgets).
  public var thresholdWindow = 2048
  /// Refit the tail every this many samples.
  public var thresholdRefit = 16
  /// After this many times `1 / (1 − thresholdLevel)` errors in a row below the tail start,
  /// the fit is stale and its tail start moves down ten times faster (0 turns it off).
  public var thresholdCatchUp = 30.0

  /// Errors averaged for the trend tail (1 turns it off).
  public var smoothing = 32
  /// Onset filter length: a score not above every score of this many previous points is
  /// halved (0 turns it off).
  public var suppression = 50

  /// A reading further than this fraction of the stream's historical range beyond it is
  /// anomalous whatever its reconstruction error (0 turns it off). 0.1, as for block means
  /// (`slowRangeTolerance`): 0.05 raised a third more false events on SKAB, the synthetic and
  /// the server corpora for 0.4 NAB points (docs/quality.md, log).
  public var rangeTolerance = 0.1
  /// A run of this many exactly repeated readings (and more than twice the longest run the
  /// stream has shown) is checked for a stuck sensor (0 turns the check off).
  public var stuckMinimumRun = 3

  /// Consecutive exceedances needed to raise an event.
  public var alarmConsecutive = 1
  /// Consecutive normal points that close an episode.
  public var alarmRecovery = 10
  /// Minimum samples between two events of one stream.
  public var alarmCooldown = 100
  /// Within the cooldown, a point that is this many orders of magnitude less probable than the
  /// one that raised the last event raises a new one: the incident got worse, and an operator
  /// must hear about it (0 turns it off: the cooldown silences everything).
  public var alarmEscalation = 1.0
  /// A burst of exceedances that repeats the interval between the three bursts before it
  /// (within this fraction of the interval) is a rhythm, a daily job, and raises no event
  /// unless it escalates (0 turns it off).
  public var alarmRecurringTolerance = 0.1
  /// Readings per block of the slow scale (`SlowScale`): the stream's block means get a model
  /// and a tail of their own, for changes too spread out for single readings (0 turns it off).
  public var slowBlock = 24
  /// Blocks the slow scale learns from before it scores (its tail is fitted on the last three
  /// quarters of them).
  public var slowWarmup = 50
  /// A block mean beyond the range of all earlier block means by more than this fraction of
  /// it is at least at the alarm level (0 turns it off). Wider than `rangeTolerance`: block
  /// means are fewer, so a new record among them comes by chance more often.
  public var slowRangeTolerance = 0.1
  /// The slow scale's seasonal check (`SeasonalCheck`): in a stream whose block means repeat
  /// with an autocorrelation above this, each block is compared with the blocks one and two
  /// periods earlier (0 turns it off; it needs the slow scale).
  public var seasonalCorrelation = 0.9
  /// The cross-channel check (`CrossChannelCheck`: each channel reconstructed from the other
  /// channels of the same reading) runs for streams of 2 up to this many channels; its weights
  /// take `channels²` floats (0 turns it off). 64 covers machines of 38 and 55 channels, where
  /// it caught 21 and 19 of 28 decoupled channels instead of 15 and 14 (docs/quality.md), at
  /// 16 KB for the widest.
  public var crossChannelLimit = 64
  /// In a stream of several channels, a channel that has taken at most this many distinct
  /// values is judged by how often it takes each (`DiscreteChannels`) instead of by its
  /// reconstruction error (0 turns it off). Four covers a flag, a command, a switch and a
  /// small state.
  public var discreteValues = 4

  public init() {}

  /// Describes the first invalid value, or nil when every value is usable.
  public func validationError() -> (key: String, reason: String)? {
    if !(0...256).contains(hidden) { return ("hidden", "must be between 0 (automatic) and 256") }
    if !(1...256).contains(attentionDim) { return ("attention_dim", "must be between 1 and 256") }
    if !(1...4096).contains(window) { return ("window", "must be between 1 and 4096") }
    if !(learningRate >= 0 && learningRate <= 1) {
      return ("learning_rate", "must be between 0 and 1")
    }
    if !(anomalyLearningFactor >= 0 && anomalyLearningFactor <= 1) {
      return ("anomaly_learning_factor", "must be between 0 and 1")
    }
    if !(relearnFraction >= 0 && relearnFraction <= 1) { return ("relearn_fraction", "must be between 0 (off) and 1") }
    if !(huberDelta > 0 && huberDelta.isFinite) { return ("huber_delta", "must be positive") }
    if !(maxGradientNorm > 0 && maxGradientNorm.isFinite) {
      return ("max_gradient_norm", "must be positive")
    }
    if !(normaliserRate > 0 && normaliserRate <= 1) {
      return ("normaliser_rate", "must be in (0, 1]")
    }
    if !(inputClip > 0 && inputClip.isFinite) { return ("input_clip", "must be positive") }
    if readoutMemory != 0, !(10...10_000_000).contains(readoutMemory) {
      return ("readout_memory", "must be 0 (off) or between 10 and 10000000")
    }
    if !(readoutPrior > 0 && readoutPrior <= 1e9) { return ("readout_prior", "must be positive, at most 1e9") }
    if !(2...256).contains(historyMatch) { return ("history_match", "must be between 2 and 256") }
    if historyLength != 0, !(historyMatch...65536).contains(historyLength) {
      return ("history_length", "must be 0 (off) or between history_match and 65536")
    }
    if historyLength != 0, readoutMemory == 0 {
      return ("history_length", "needs the read-out refit (readout_memory above 0), which weighs what it retrieves")
    }
    if warmup != 0, !(16...10_000_000).contains(warmup) {
      return ("warmup", "must be 0 (automatic) or between 16 and 10000000")
    }
    if !(thresholdLevel > 0.5 && thresholdLevel < 1) {
      return ("threshold_level", "must be in (0.5, 1)")
    }
    if !(risk > 0 && risk < 1 - thresholdLevel) {
      return ("risk", "must be in (0, 1 - threshold_level)")
    }
    if !(32...65536).contains(thresholdWindow) {
      return ("threshold_window", "must be between 32 and 65536")
    }
    if !(1...65536).contains(thresholdRefit) {
      return ("threshold_refit", "must be between 1 and 65536")
    }
    if !(1...4096).contains(smoothing) { return ("smoothing", "must be between 1 and 4096") }
    if !(0...100_000).contains(suppression) { return ("suppression", "must be between 0 and 100000") }
    if !(rangeTolerance >= 0 && rangeTolerance <= 100) { return ("range_tolerance", "must be between 0 and 100") }
    if !(thresholdCatchUp >= 0 && thresholdCatchUp <= 1_000_000) {
      return ("threshold_catch_up", "must be between 0 and 1000000")
    }
    if !(0...1_000_000).contains(stuckMinimumRun) { return ("stuck_min_run", "must be between 0 and 1000000") }
    if !(1...10000).contains(alarmConsecutive) {
      return ("alarm_consecutive", "must be between 1 and 10000")
    }
    if !(1...1_000_000).contains(alarmRecovery) {
      return ("alarm_recovery", "must be between 1 and 1000000")
    }
    if !(0...100_000_000).contains(alarmCooldown) {
      return ("alarm_cooldown", "must be between 0 and 100000000")
    }
    if !(alarmEscalation >= 0 && alarmEscalation <= 100) {
      return ("alarm_escalation", "must be between 0 and 100")
    }
    if !(alarmRecurringTolerance >= 0 && alarmRecurringTolerance <= 0.5) {
      return ("alarm_recurring_tolerance", "must be between 0 and 0.5")
    }
    if slowBlock != 0 && !(2...100_000).contains(slowBlock) {
      return ("slow_block", "must be 0 (off) or between 2 and 100000")
    }
    if !(16...10_000_000).contains(slowWarmup) { return ("slow_warmup", "must be between 16 and 10000000") }
    if !(slowRangeTolerance >= 0 && slowRangeTolerance <= 100) {
      return ("slow_range_tolerance", "must be between 0 and 100")
    }
    if !(seasonalCorrelation >= 0 && seasonalCorrelation < 1) {
      return ("seasonal_correlation", "must be 0 (off) or below 1")
    }
    if !(0...1024).contains(crossChannelLimit) {
      return ("cross_channel_limit", "must be between 0 (off) and 1024")
    }
    if !(0...64).contains(discreteValues) { return ("discrete_values", "must be between 0 (off) and 64") }
    return nil
  }

  /// The hidden size `hidden = 0` gives a stream of `channels` channels: 8 for one channel, 16
  /// for several. On NAB (one channel) 6 to 16 score alike and 8 is the cheapest; on
  /// multichannel machine streams 16 detected more than 8 at every width measured (3 to 12
  /// channels), and 24 or 32 no more than 16 (docs/quality.md).
  public static func automaticHidden(channels: Int) -> Int {
    channels > 1 ? 16 : 8
  }

  /// `hidden`, or the automatic size for `channels` when it is 0.
  public func hiddenSize(channels: Int) -> Int {
    hidden > 0 ? hidden : DetectorConfiguration.automaticHidden(channels: channels)
  }

  /// The warm-up `warmup = 0` gives a model of `hidden` units: 25 readings per unit, so 200
  /// for one channel (hidden 8) and 400 for several (hidden 16). The tails are calibrated on
  /// the warm-up's last three quarters, and a wider model is still learning there: a fit to 150
  /// of its errors is erratic, too high in some streams (a 12-channel machine's point tail
  /// alarmed only above three times its errors' 99th percentile for 3,000 readings) and too low
  /// in others. On the synthetic machine at 3 to 12 channels, over 14 draws not used to choose
  /// the rule, 400 raised the own-threshold score from 66.0 to 72.1 and caught 73 of 112 shifts
  /// of the whole machine instead of 65 (docs/quality.md). One channel keeps the 200 that NAB
  /// measured best.
  public static func automaticWarmup(hidden: Int) -> Int {
    25 * hidden
  }

  /// `warmup`, or the automatic warm-up for a stream of `channels` channels when it is 0.
  public func warmupLength(channels: Int) -> Int {
    warmup > 0 ? warmup : DetectorConfiguration.automaticWarmup(hidden: hiddenSize(channels: channels))
  }

  /// Whether a stream of `channels` channels gets the cross-channel check.
  public func checksCrossChannel(channels: Int) -> Bool {
    channels > 1 && channels <= crossChannelLimit
  }

  public func modelShape(channels: Int) -> ModelShape {
    ModelShape(
      channels: channels, hidden: hiddenSize(channels: channels), attentionDim: attentionDim, window: window)
  }
}
