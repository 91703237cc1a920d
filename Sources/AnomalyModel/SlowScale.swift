/// The stream seen at a slower time scale: the means of `block` readings at a time, each
/// reconstructed by a model of its own from the blocks before it, with a tail fitted to its
/// errors.
///
/// The main model's window spans 32 readings, so a change that only shows over many of them —
/// a day shaped unlike the days before (a holiday in a city's taxi demand), a slow decline —
/// leaves every single reading's error ordinary. Over blocks of 24 readings the same window
/// spans 768, and such a change is one surprising block. It is evidence like the other tails:
/// its surprise, at the reading that completes a block, is one more candidate for the
/// detector's score (reason `slow`). The model, the normaliser and the tail are the
/// detector's own kinds, configured alike; the blocks have their own warm-up
/// (`slow_warmup` blocks) because there are `block` times fewer of them.
public final class SlowScale {
  public let block: Int
  public let warmup: Int
  let model: GRUAttentionModel
  var normaliser: RunningNormaliser
  var tail: TailThreshold
  /// Blocks completed since the detector was created or reset.
  public private(set) var blocks: UInt64 = 0
  /// The running sums of the current block, per channel, and how many readings it holds.
  private var sums: [Double]
  private var filled = 0
  /// The block mean, normalised, as the model's input (kept to avoid an allocation per block).
  private var input: [Float]
  /// The lowest and highest block mean per channel: a block mean beyond them by more than
  /// `slow_range_tolerance` of their span is at least at the alarm level, as a reading beyond
  /// the readings' range is.
  var low: [Double]
  var high: [Double]
  /// The blocks one and two periods back, for streams with a clear period (nil when
  /// `seasonal_correlation` is 0).
  var seasonal: SeasonalCheck?
  /// Each channel's period in blocks found by the seasonal check (0: none); nil when it is off.
  public var seasonalPeriods: [Int]? { seasonal?.periods }

  init(configuration c: DetectorConfiguration, channels: Int) {
    block = c.slowBlock
    warmup = c.slowWarmup
    model = GRUAttentionModel(shape: c.modelShape(channels: channels), seed: c.seed)
    normaliser = RunningNormaliser(channels: channels, minimumRate: c.normaliserRate)
    // The main tail remembers `threshold_window` readings, `block` times as many as blocks;
    // but a tail fitted to fewer than a few hundred errors is too noisy at a 10⁻³ risk.
    let memory = Swift.max(256, c.thresholdWindow / Swift.max(1, c.slowBlock))
    tail = TailThreshold(
      level: c.thresholdLevel, risk: c.risk, memory: memory, refitInterval: c.thresholdRefit,
      catchUp: c.thresholdCatchUp)
    sums = Array(repeating: 0, count: channels)
    input = Array(repeating: 0, count: channels)
    low = Array(repeating: .infinity, count: channels)
    high = Array(repeating: -.infinity, count: channels)
    seasonal = c.seasonalCorrelation > 0 ? SeasonalCheck(configuration: c, channels: channels) : nil
  }

  /// Adds one reading; at the reading that completes a block, scores the block mean, learns
  /// from it and returns its surprise (−log10 of its tail probability; 0 while warming up and
  /// between blocks), and the seasonal check's (`SeasonalCheck`). `alarmSurprise` is the
  /// detector's alarm level: a block above it is learned at `anomalyLearningFactor`, as an
  /// anomalous reading is.
  func add(
    _ values: UnsafeBufferPointer<Double>, configuration c: DetectorConfiguration, alarmSurprise: Double,
    _ workspace: ModelWorkspace
  ) -> (slow: Double, seasonal: Double) {
    let channels = sums.count
    for ch in 0..<channels { sums[ch] += values[ch] }
    filled += 1
    guard filled == block else { return (0, 0) }
    for ch in 0..<channels { sums[ch] /= Double(block) }
    var surprise = 0.0
    var seasonalSurprise = 0.0
    sums.withUnsafeBufferPointer { means in
      if seasonal != nil {
        let normaliser = self.normaliser
        seasonalSurprise = seasonal!.add(means) { normaliser.normalise($0, channel: $1, clip: .infinity) }
      }
      for ch in 0..<channels {
        input[ch] = Float(normaliser.normalise(means[ch], channel: ch, clip: c.inputClip))
      }
      model.predict(workspace)
      // Against the block mean itself, not its clipped input: a block far outside everything
      // seen is scored as that far (the readings' range check plays this part at full speed).
      var squared = 0.0
      for ch in 0..<channels {
        let z = normaliser.normalise(means[ch], channel: ch, clip: .infinity)
        let difference = Double(workspace.prediction[ch]) - z
        squared += difference * difference
      }
      let error = (squared / Double(channels)).squareRoot()
      blocks += 1
      if blocks <= UInt64(warmup) {
        if blocks > UInt64(warmup / 4) { tail.record(error) }
        if blocks == UInt64(warmup) { tail.calibrate() }
      } else {
        surprise = tail.surprise(error)
        let excess = ReadingRange.excess(means, low: low, high: high, tolerance: c.slowRangeTolerance)
        if excess > 0 { surprise = Swift.max(surprise, alarmSurprise * (1 + excess)) }
      }
      ReadingRange.widen(low: &low, high: &high, with: means)
      let weight = surprise > alarmSurprise ? c.anomalyLearningFactor : 1
      input.withUnsafeBufferPointer { x in
        model.learn(
          target: x.baseAddress!, learningRate: Float(c.learningRate * weight), huberDelta: Float(c.huberDelta),
          maxGradientNorm: Float(c.maxGradientNorm), workspace)
        model.advance(x.baseAddress!, workspace)
      }
      normaliser.update(means, weight: weight)
    }
    for ch in 0..<channels { sums[ch] = 0 }
    filled = 0
    return (surprise, seasonalSurprise)
  }

  func encode(into w: inout StateWriter) {
    w.write(blocks)
    w.write(filled)
    w.write(sums)
    w.write(low)
    w.write(high)
    normaliser.encode(into: &w)
    tail.encode(into: &w)
    model.encode(into: &w)
    seasonal?.encode(into: &w)
  }

  func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    blocks = UInt64(try r.readCounter())
    filled = try r.readInt()
    guard (0..<block).contains(filled) else { throw .invalid("slow block fill \(filled)") }
    let restored = try r.readDoubles(max: 4096)
    guard restored.count == sums.count, restored.allSatisfy(\.isFinite) else { throw .invalid("slow block sums") }
    sums = restored
    let restoredLow = try r.readDoubles(max: 4096)
    let restoredHigh = try r.readDoubles(max: 4096)
    guard restoredLow.count == sums.count, restoredHigh.count == sums.count,
      !restoredLow.contains(where: \.isNaN), !restoredHigh.contains(where: \.isNaN)
    else { throw .invalid("slow block range") }
    (low, high) = (restoredLow, restoredHigh)
    try normaliser.decode(from: &r)
    try tail.decode(from: &r, version: version)
    try model.decode(from: &r)
    try seasonal?.decode(from: &r, version: version)
  }
}
