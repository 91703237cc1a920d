/// What the detector concluded about one sample.
public struct ScoredSample: Sendable, Equatable {
  /// Reconstruction error: root mean square over channels, in standard deviations.
  public var error: Double
  /// Anomaly score in [0, 1]: `S / (S + L)`, S = −log10 of the point's probability under the
  /// stream's fitted error distributions, L = −log10 risk (see `ErrorScorer`); 0 in warm-up.
  /// It ranks points by how anomalous each is, repeats of an incident included.
  public var score: Double
  /// The score as a threshold that wants one detection per incident sees it (NAB's
  /// corpus-optimised threshold): halved where it does not exceed the last `suppression`
  /// points' scores (the onset filter), inside an open episode or its cooldown, and in a
  /// recurring burst, unless the point raises an event. Deduplication lives here and in the
  /// alarm gate, not in `score`.
  public var alarmScore = 0.0
  /// The score above which a point is anomalous: ½, where the probability equals `risk`.
  public var threshold: Double
  /// The error above which a point is anomalous, the adaptive threshold in error units.
  public var errorThreshold: Double
  /// This point exceeded the threshold.
  public var aboveThreshold: Bool
  /// An anomaly event fires on this point (the first point of an episode, after hysteresis).
  public var anomaly: Bool
  /// The stream is still in its warm-up; no alarm can fire.
  public var warmingUp: Bool
  /// Which evidence gave the point its score (`.none` in warm-up).
  public var reason: AnomalyReason = .none
  /// The slow scale's surprise (−log10 of its block's probability) at a sample that completes
  /// a block after the warm-up; 0 elsewhere. It is one of the candidates for the score.
  public var slowSurprise = 0.0
  /// The slow scale's seasonal check's surprise (`SeasonalCheck`), at the same samples; 0
  /// elsewhere and in streams without a clear period.
  public var seasonalSurprise = 0.0
}

/// A past moment the history attention drew on: `readingsBack` readings before the scored
/// one, with `weight` of the attention (the weights of all moments sum to 1).
public struct AttentionMoment: Sendable, Equatable {
  public var readingsBack: Int
  public var weight: Double
}

/// Buffers a worker reuses for every sample of every stream, so scoring allocates nothing.
public final class DetectorWorkspace {
  public let model = ModelWorkspace()
  /// The slow scale's own: its forward pass must not overwrite the one the main model's
  /// `learn` reads later in the same sample.
  let slowModel = ModelWorkspace()
  var input: [Float] = []
  /// The cross-channel check's residuals, between its scoring and its learning.
  var crossResiduals: [Float] = []
  /// The read-out refit's features and reconstruction of the sample being scored, and its
  /// scratch.
  var readoutFeatures: [Double] = []
  var readoutGain: [Double] = []
  var readoutPrediction: [Double] = []
  var readoutStep: [Double] = []
  /// The history attention's retrieved reading and its softmax scratch.
  var retrieved: [Float] = []
  var historyWeights: [Float] = []
  /// The lags `historyWeights` holds for the last processed sample; nil when its stream has
  /// no history attention or no usable key yet.
  var retrievedLags: ClosedRange<Int>?
  /// The reconstruction of the last processed sample, in the stream's own units.
  public internal(set) var expected: [Double] = []
  /// |value − expected| per channel for the last processed sample.
  public internal(set) var channelError: [Double] = []

  public init() {}

  func prepare(channels: Int) {
    if input.count != channels {
      input = Array(repeating: 0, count: channels)
      expected = Array(repeating: 0, count: channels)
      channelError = Array(repeating: 0, count: channels)
      crossResiduals = Array(repeating: 0, count: channels)
      retrieved = Array(repeating: 0, count: channels)
    }
  }

  /// The history attention's reading for the sample about to be scored, into `retrieved`.
  @inline(__always) func retrieve(from history: HistoryAttention) {
    if historyWeights.count < history.length { historyWeights = Array(repeating: 0, count: history.length) }
    retrievedLags = retrieved.withUnsafeMutableBufferPointer { out in
      historyWeights.withUnsafeMutableBufferPointer {
        history.retrieve(into: out.baseAddress!, weights: $0.baseAddress!)
      }
    }
  }

  /// The past moments the history attention drew on most for the sample just processed: how
  /// many readings before it each lies (the reading that followed a subsequence like the one
  /// before this sample) and its share of the attention, the `count` heaviest first. Empty
  /// when the stream has no history attention or no usable key yet. Meant for events: a scan
  /// of `history_length` weights.
  public func attentionMoments(count: Int) -> [AttentionMoment] {
    guard let lags = retrievedLags, count > 0 else { return [] }
    let weights = historyWeights[0..<lags.count]
    let total = weights.reduce(0, +)
    guard total > 0 else { return [] }
    var heaviest: [AttentionMoment] = []
    for (j, w) in weights.enumerated() where w > 0 {
      guard heaviest.count < count || Double(w) / Double(total) > heaviest[heaviest.count - 1].weight else { continue }
      let moment = AttentionMoment(readingsBack: lags.lowerBound + j, weight: Double(w) / Double(total))
      let position = heaviest.firstIndex { $0.weight < moment.weight } ?? heaviest.count
      heaviest.insert(moment, at: position)
      if heaviest.count > count { heaviest.removeLast() }
    }
    return heaviest
  }

  /// Gathers the refit's features after `model.predict` and leaves its reconstruction in
  /// `readoutPrediction`. The buffers only grow, so streams of different shapes share them
  /// without reallocating.
  @inline(__always) func reconstruct(with readout: RecursiveReadout, model: GRUAttentionModel) {
    if readoutFeatures.count < readout.dimension {
      readoutFeatures = Array(repeating: 0, count: readout.dimension)
      readoutGain = Array(repeating: 0, count: readout.dimension)
    }
    if readoutPrediction.count < readout.channels {
      readoutPrediction = Array(repeating: 0, count: readout.channels)
      readoutStep = Array(repeating: 0, count: readout.channels)
    }
    readoutFeatures.withUnsafeMutableBufferPointer { features in
      retrieved.withUnsafeBufferPointer {
        readout.gatherFeatures(model: model, self.model, retrieved: $0.baseAddress!, into: features.baseAddress!)
      }
      readoutPrediction.withUnsafeMutableBufferPointer { readout.predict(features.baseAddress!, into: $0.baseAddress!) }
    }
  }

  /// The refit's step on the reading in `input`, scored with the features and reconstruction
  /// `reconstruct` left.
  @inline(__always) func learn(_ readout: RecursiveReadout, weight: Double, memory: Double) {
    input.withUnsafeBufferPointer { input in
      readoutFeatures.withUnsafeBufferPointer { features in
        readoutPrediction.withUnsafeBufferPointer { predictions in
          readoutGain.withUnsafeMutableBufferPointer { gain in
            readoutStep.withUnsafeMutableBufferPointer { step in
              readout.learn(
                features.baseAddress!, target: input.baseAddress!, predictions: predictions.baseAddress!,
                weight: weight, memory: memory, gain: gain.baseAddress!, step: step.baseAddress!)
            }
          }
        }
      }
    }
  }
}

/// The per-stream pipeline: normalise → reconstruct → error → adaptive threshold → hysteresis
/// → learn. One instance per stream; owned by one worker thread.
public final class StreamDetector {
  public let configuration: DetectorConfiguration
  public let channels: Int
  public let model: GRUAttentionModel
  public internal(set) var normaliser: RunningNormaliser
  public internal(set) var threshold: ErrorScorer
  public internal(set) var gate: AlarmGate
  /// The lowest and highest reading seen per channel.
  public internal(set) var rangeLow: [Double]
  public internal(set) var rangeHigh: [Double]
  /// Runs of repeated readings, for the stuck-sensor check.
  public internal(set) var stuck: StuckReadingCheck
  /// Samples processed since the detector was created or reset.
  public internal(set) var samples: UInt64 = 0
  /// The fraction of recent scored points above the threshold, averaged over about
  /// `relearnMemory` points (`relearn_fraction`).
  public internal(set) var recentAboveFraction = 0.0
  /// Points `recentAboveFraction` averages over.
  static let relearnMemory = 64.0
  /// The stream's block means with a model and tail of their own (`slow_block`; nil when off).
  public internal(set) var slow: SlowScale?
  /// Each channel against the others of the same reading (nil for one channel, beyond
  /// `cross_channel_limit`, or when off).
  var crossChannel: CrossChannelCheck?
  /// Channels of few distinct values, judged by the novelty and the rate of their values (nil
  /// for one channel, or when `discrete_values` is 0).
  var discrete: DiscreteChannels?
  /// The read-out refitted by recursive least squares (`readout_memory`; nil when off).
  var readout: RecursiveReadout?
  /// Attention over the last `history_length` readings' subsequences (nil when off).
  var history: HistoryAttention?
  /// Whether the stream is anomalous now (`EpisodeState`): longer than the gate's episode for
  /// a fault that lasts.
  var episode = EpisodeState()
  /// The stream is anomalous now: from an event until its readings are back near their level
  /// before it (the episode state of replay's `in_episode`, the Prometheus gauge and the
  /// Alertmanager's alert). The alarm gate still raises one event per incident.
  public var isAnomalousNow: Bool { episode.isOpen }
  /// Situations the operator marked as false alarms (`acceptAsNormal`).
  public internal(set) var accepted = AcceptedPatterns()
  /// Whether this stream has the cross-channel check (`cross_channel_limit`).
  public var checksCrossChannel: Bool { crossChannel != nil }

  /// An automatic `hidden` or `warmup` (0) is fixed here to what the channel count gives, so
  /// the stream's saved configuration names its model's real size and warm-up, and a restore
  /// never depends on the rule that chose them.
  public init(configuration: DetectorConfiguration, channels: Int) {
    var resolved = configuration
    resolved.hidden = configuration.hiddenSize(channels: channels)
    resolved.warmup = configuration.warmupLength(channels: channels)
    self.configuration = resolved
    self.channels = channels
    model = GRUAttentionModel(shape: resolved.modelShape(channels: channels), seed: resolved.seed)
    normaliser = RunningNormaliser(channels: channels, minimumRate: resolved.normaliserRate)
    threshold = ErrorScorer(configuration: resolved, channels: channels)
    gate = StreamDetector.makeGate(resolved)
    rangeLow = Array(repeating: .infinity, count: channels)
    rangeHigh = Array(repeating: -.infinity, count: channels)
    stuck = StreamDetector.makeStuckCheck(resolved, channels: channels)
    slow = StreamDetector.makeSlowScale(resolved, channels: channels)
    crossChannel = StreamDetector.makeCrossChannelCheck(resolved, channels: channels)
    discrete = StreamDetector.makeDiscreteChannels(resolved, channels: channels)
    history = StreamDetector.makeHistory(resolved, channels: channels)
    readout = StreamDetector.makeReadout(resolved, model: model)
  }

  private static func makeReadout(_ c: DetectorConfiguration, model: GRUAttentionModel) -> RecursiveReadout? {
    c.readoutMemory > 0 ? RecursiveReadout(model: model, prior: c.readoutPrior, usesHistory: c.historyLength > 0) : nil
  }

  private static func makeHistory(_ c: DetectorConfiguration, channels: Int) -> HistoryAttention? {
    c.historyLength > 0 ? HistoryAttention(configuration: c, channels: channels) : nil
  }

  private static func makeCrossChannelCheck(_ c: DetectorConfiguration, channels: Int) -> CrossChannelCheck? {
    c.checksCrossChannel(channels: channels) ? CrossChannelCheck(configuration: c, channels: channels) : nil
  }

  private static func makeDiscreteChannels(_ c: DetectorConfiguration, channels: Int) -> DiscreteChannels? {
    channels > 1 && c.discreteValues > 0
      ? DiscreteChannels(channels: channels, limit: c.discreteValues, memory: c.smoothing) : nil
  }

  private static func makeSlowScale(_ c: DetectorConfiguration, channels: Int) -> SlowScale? {
    c.slowBlock > 0 ? SlowScale(configuration: c, channels: channels) : nil
  }

  private static func makeStuckCheck(_ c: DetectorConfiguration, channels: Int) -> StuckReadingCheck {
    StuckReadingCheck(channels: channels, minimumRun: c.stuckMinimumRun, learningFactor: c.anomalyLearningFactor)
  }

  private static func makeGate(_ c: DetectorConfiguration) -> AlarmGate {
    AlarmGate(
      consecutive: c.alarmConsecutive, recovery: c.alarmRecovery, cooldown: c.alarmCooldown,
      escalation: c.alarmEscalation, recurringTolerance: c.alarmRecurringTolerance)
  }

  /// Forgets everything learned: the stream starts over with a new warm-up.
  public func reset() {
    model.reset(seed: configuration.seed)
    normaliser = RunningNormaliser(channels: channels, minimumRate: configuration.normaliserRate)
    threshold = ErrorScorer(configuration: configuration, channels: channels)
    gate = StreamDetector.makeGate(configuration)
    rangeLow = Array(repeating: .infinity, count: channels)
    rangeHigh = Array(repeating: -.infinity, count: channels)
    stuck = StreamDetector.makeStuckCheck(configuration, channels: channels)
    slow = StreamDetector.makeSlowScale(configuration, channels: channels)
    crossChannel = StreamDetector.makeCrossChannelCheck(configuration, channels: channels)
    discrete = StreamDetector.makeDiscreteChannels(configuration, channels: channels)
    history = StreamDetector.makeHistory(configuration, channels: channels)
    readout = StreamDetector.makeReadout(configuration, model: model)
    accepted = AcceptedPatterns()
    episode = EpisodeState()
    samples = 0
    recentAboveFraction = 0
  }

  public var isWarmingUp: Bool { samples < UInt64(configuration.warmup) }

  /// Scores one sample (its values must be finite and `channels` long), then learns from it.
  /// The reconstruction and per-channel errors are left in `workspace.expected` and
  /// `workspace.channelError`.
  public func process(_ values: UnsafeBufferPointer<Double>, _ workspace: DetectorWorkspace)
    -> ScoredSample
  {
    precondition(values.count == channels, "channel count is checked by the caller")
    let config = configuration
    workspace.prepare(channels: channels)
    for c in 0..<channels {
      workspace.input[c] = Float(
        normaliser.normalise(values[c], channel: c, clip: config.inputClip))
    }
    model.predict(workspace.model)
    let prediction = workspace.model.prediction
    workspace.retrievedLags = nil
    if let history { workspace.retrieve(from: history) }
    if let readout { workspace.reconstruct(with: readout, model: model) }
    // The reading joins the history only once its reconstruction is made.
    if let history { _ = workspace.input.withUnsafeBufferPointer { history.add($0.baseAddress!) } }
    let refitted = readout != nil
    var squared = 0.0
    var jointChannels = 0
    var largestChannelError = 0.0
    let allDiscrete = discrete.map { !$0.hasContinuousChannel } ?? false
    for c in 0..<channels {
      let predicted = refitted ? workspace.readoutPrediction[c] : Double(prediction[c])
      let expected = normaliser.denormalise(predicted, channel: c)
      workspace.expected[c] = expected
      workspace.channelError[c] = abs(values[c] - expected)
      let difference = predicted - Double(workspace.input[c])
      // A discrete channel's pulses are not predictable from its past, and would dominate the
      // errors: its evidence is the novelty and the rate of its values instead. Only a stream
      // of discrete channels alone keeps their reconstruction, which is all it has.
      if discrete?.isDiscrete(c) == true && !allDiscrete { continue }
      squared += difference * difference
      jointChannels += 1
      if discrete?.isDiscrete(c) == true { continue }
      largestChannelError = Swift.max(largestChannelError, abs(difference))
    }
    let error = (squared / Double(Swift.max(1, jointChannels))).squareRoot()

    samples += 1
    let warmup = UInt64(config.warmup)
    var result = ScoredSample(
      error: error, score: 0, threshold: threshold.alarmScore,
      errorThreshold: threshold.alarmError, aboveThreshold: false, anomaly: false,
      warmingUp: samples <= warmup)
    // Learned from every sample, warm-up included; evidence only after it.
    let stuckSurprise = stuck.update(
      values, alarmLevel: samples <= warmup ? nil : threshold.alarmSurprise)
    let (slowSurprise, seasonalSurprise) =
      slow?.add(values, configuration: config, alarmSurprise: threshold.alarmSurprise, workspace.slowModel) ?? (0, 0)
    let largestResidual =
      crossChannel?.largestResidual(workspace.input, residuals: &workspace.crossResiduals, leavingOut: discrete) ?? 0
    let (rareValueSurprise, flagRateSurprise) = discrete?.observe(values) ?? (0, 0)
    if samples <= warmup {
      // The first quarter of the warm-up measures an untrained model; its errors would
      // inflate the tail.
      if samples > warmup / 4 {
        threshold.record(error, largestChannelError: largestChannelError)
        crossChannel?.record(largestResidual)
      }
      if samples == warmup {
        threshold.calibrate()
        crossChannel?.calibrate()
      }
    } else {
      (result.slowSurprise, result.seasonalSurprise) = (slowSurprise, seasonalSurprise)
      var scored = threshold.score(
        error, largestChannelError: largestChannelError, rangeExcess: rangeExcess(values),
        stuckSurprise: stuckSurprise, slowSurprise: slowSurprise, seasonalSurprise: seasonalSurprise,
        crossChannelSurprise: crossChannel?.surprise(largestResidual) ?? 0, rareValueSurprise: rareValueSurprise,
        flagRateSurprise: flagRateSurprise, jointIsOneChannel: jointChannels == 1)
      if scored.above, !accepted.isEmpty, let current = history?.latestSubsequence(), accepted.matches(current) {
        // A situation the operator called normal: below the threshold, learned as normal.
        scored.above = false
        scored.score = Swift.min(scored.score, AcceptedPatterns.suppressedScore)
        scored.onsetScore = Swift.min(scored.onsetScore, AcceptedPatterns.suppressedScore)
        accepted.suppressed &+= 1
      }
      (result.score, result.aboveThreshold, result.reason) = (scored.score, scored.above, scored.reason)
      result.alarmScore = scored.onsetScore
      // Inside an open episode or the cooldown after its event a point is not a new incident
      // (unless it escalates): its alarm score is halved, so a threshold on alarm scores sees
      // each incident once.
      let coolingDown = gate.isCoolingDown || gate.inEpisode
      result.anomaly = gate.update(above: result.aboveThreshold, surprise: scored.surprise)
      // A repetition of a recurring burst is not a new incident either.
      let recurring = result.aboveThreshold && gate.inRecurringBurst
      if (coolingDown || recurring) && !result.anomaly { result.alarmScore *= 0.5 }
    }
    result.errorThreshold = threshold.alarmError

    if !result.warmingUp {
      recentAboveFraction += ((result.aboveThreshold ? 1 : 0) - recentAboveFraction) / StreamDetector.relearnMemory
    }
    // Points above the threshold are learned slowly, so that a fault does not become the new
    // normal; but when `relearn_fraction` of the recent points (a tenth) are above it, the
    // stream has changed for good, and slowed learning would only keep it alarming until the
    // model caught up.
    let changedForGood = config.relearnFraction > 0 && recentAboveFraction >= config.relearnFraction
    let weight = result.aboveThreshold && !changedForGood ? config.anomalyLearningFactor : 1
    if let readout { workspace.learn(readout, weight: weight, memory: Double(config.readoutMemory)) }
    workspace.input.withUnsafeBufferPointer { input in
      model.learn(
        target: input.baseAddress!, learningRate: Float(config.learningRate * weight),
        huberDelta: Float(config.huberDelta), maxGradientNorm: Float(config.maxGradientNorm),
        workspace.model)
      model.advance(input.baseAddress!, workspace.model)
      crossChannel?.learn(
        input.baseAddress!, residuals: workspace.crossResiduals, learningRate: Float(config.learningRate * weight),
        maxGradientNorm: Float(config.maxGradientNorm))
    }
    if result.anomaly {
      episode.start(values: values, mean: normaliser.mean, scale: (0..<channels).map(normaliser.scale))
    } else {
      episode.update(
        values, gateOpen: gate.inEpisode, recovery: config.alarmRecovery, maximumAge: config.thresholdWindow)
    }
    normaliser.update(values, weight: weight)
    ReadingRange.widen(low: &rangeLow, high: &rangeHigh, with: values)
    return result
  }

  /// The stream's latest subsequence (what `acceptAsNormal` takes), for an event just raised;
  /// nil without the history attention or before `history_match` readings.
  public func eventPattern() -> [Float]? {
    history?.latestSubsequence()
  }

  /// Marks the situation of an event (its `eventPattern()`) as normal: from now on a point that
  /// would alarm in that situation does not. Returns false if the pattern does not fit this
  /// stream.
  public func acceptAsNormal(_ pattern: [Float]) -> Bool {
    guard let history, pattern.count == history.match * channels, pattern.allSatisfy(\.isFinite) else {
      return false
    }
    accepted.add(pattern)
    return true
  }

  /// Forgets every situation marked normal.
  public func clearAccepted() {
    accepted = AcceptedPatterns()
  }

  /// How far beyond the stream's historical range the reading lies, as a fraction of that
  /// range, once it exceeds `rangeTolerance` (0 otherwise). HTM's NAB detector calls the same
  /// idea a "spatial anomaly".
  func rangeExcess(_ values: UnsafeBufferPointer<Double>) -> Double {
    ReadingRange.excess(values, low: rangeLow, high: rangeHigh, tolerance: configuration.rangeTolerance)
  }
}

/// The range checks of readings and of block means (`SlowScale`).
enum ReadingRange {
  /// The largest fraction of its channel's span by which a value lies beyond [low, high], once
  /// that exceeds `tolerance` (0 otherwise, and when `tolerance` is 0).
  static func excess(
    _ values: UnsafeBufferPointer<Double>, low: [Double], high: [Double], tolerance: Double
  ) -> Double {
    guard tolerance > 0 else { return 0 }
    var excess = 0.0
    for c in 0..<low.count {
      let span = high[c] - low[c]
      guard span > 0, span.isFinite else { continue }
      let beyond = Swift.max(low[c] - values[c], values[c] - high[c]) / span
      if beyond > tolerance { excess = Swift.max(excess, beyond) }
    }
    return excess
  }

  /// Widens [low, high] per channel to include `values`.
  static func widen(low: inout [Double], high: inout [Double], with values: UnsafeBufferPointer<Double>) {
    for c in 0..<low.count {
      low[c] = Swift.min(low[c], values[c])
      high[c] = Swift.max(high[c], values[c])
    }
  }
}
