/// Compares each block mean with the block means one and two periods earlier, in a stream whose
/// block means repeat with a clear period (a machine on a daily schedule): "at this time
/// yesterday and the day before it was 80, today it is 20".
///
/// A missing daily ramp leaves every reading inside the range the stream always shows, and the
/// slow scale's model, which reconstructs a block from the blocks before it without knowing the
/// time of day, cannot tell a night that goes on too long from an ordinary night. The block one
/// period back can: its difference from the current block is small every day but that one.
///
/// The period is the lag, within `longestPeriod` blocks, with the highest autocorrelation of the
/// last `history` block means after the autocorrelation first turns negative (a trend or slow
/// drift correlates at short lags without repeating), once that autocorrelation exceeds
/// `minimumCorrelation` — or the shortest lag within `multipleTolerance` of it, since twice a
/// period correlates about as well as the period; it is re-estimated every `recheckInterval`
/// blocks. Streams without such a period (most real ones, whose days differ more than that)
/// are never scored here.
///
/// A block is compared with the block one period back and, once there is one, with the block
/// two periods back, and the smaller difference counts: the day after an unusual day is not
/// reported for being unlike it, and after a lasting shift of level only the first period is
/// unlike both. The differences, in the slow normaliser's units and the largest over the
/// channels that have a period, get a tail of their own (`TailThreshold`), fitted after
/// `warmupResiduals` of them.
struct SeasonalCheck {
  static let history = 96
  static let longestPeriod = 32
  static let recheckInterval = 4
  /// How much less a shorter lag may correlate than the best and still be the period.
  static let multipleTolerance = 0.05
  static let warmupResiduals = 60
  /// The tail's memory, in differences (one per block): as the slow scale's own tail.
  static let tailMemory = 256

  let minimumCorrelation: Double
  /// The last `history` block means of each channel, oldest first, as offsets from the
  /// channel's first block mean (`reference`): channel `c`'s `count` values start at
  /// `c * history`. Offsets keep a float's precision for a channel that sits far from zero
  /// (1,000,000 ± 1), at half the memory of doubles.
  private var means: [Float]
  private var reference: [Double]
  private var count = 0
  /// Blocks added, for the recheck schedule.
  private var blocks: UInt64 = 0
  /// Each channel's period in blocks; 0: none.
  private(set) var periods: [Int]
  private var tail: TailThreshold
  private var residuals = 0

  init(configuration c: DetectorConfiguration, channels: Int) {
    minimumCorrelation = c.seasonalCorrelation
    means = Array(repeating: 0, count: channels * SeasonalCheck.history)
    reference = Array(repeating: 0, count: channels)
    periods = Array(repeating: 0, count: channels)
    tail = TailThreshold(
      level: c.thresholdLevel, risk: c.risk, memory: SeasonalCheck.tailMemory, refitInterval: c.thresholdRefit,
      catchUp: c.thresholdCatchUp, correctsForClipping: true)
  }

  /// Adds one block's means and returns the surprise of its difference from the blocks one
  /// and two periods back (the smaller; −log10 of its tail probability), 0 while there is no
  /// period or the tail is warming up. `normalised(x, c)` puts a channel's value in the slow
  /// normaliser's units.
  mutating func add(
    _ blockMeans: UnsafeBufferPointer<Double>, normalised: (Double, Int) -> Double
  ) -> Double {
    let channels = periods.count
    let h = SeasonalCheck.history
    if count == h {
      for c in 0..<channels {
        for j in 1..<h { means[c * h + j - 1] = means[c * h + j] }
      }
      count -= 1
    }
    if blocks == 0 {
      for c in 0..<channels { reference[c] = blockMeans[c] }
    }
    for c in 0..<channels {
      let largest = Double(Float.greatestFiniteMagnitude)
      means[c * h + count] = Float(Swift.min(Swift.max(blockMeans[c] - reference[c], -largest), largest))
    }
    count += 1
    blocks += 1
    if blocks % UInt64(SeasonalCheck.recheckInterval) == 0 {
      for c in 0..<channels { periods[c] = period(channel: c) }
    }
    var residual = -1.0
    for c in 0..<channels where periods[c] > 0 && count > periods[c] {
      func earlier(_ periodsBack: Int) -> Double {
        normalised(reference[c] + Double(means[c * h + count - 1 - periodsBack * periods[c]]), c)
      }
      let current = normalised(blockMeans[c], c)
      var difference = abs(current - earlier(1))
      if count > 2 * periods[c] { difference = Swift.min(difference, abs(current - earlier(2))) }
      residual = Swift.max(residual, difference)
    }
    guard residual >= 0, residual.isFinite else { return 0 }
    guard residuals >= SeasonalCheck.warmupResiduals else {
      tail.record(residual)
      residuals += 1
      if residuals == SeasonalCheck.warmupResiduals { tail.calibrate() }
      return 0
    }
    return tail.surprise(residual)
  }

  /// The channel's period in blocks (0 for none) from its last `count` block means.
  private func period(channel c: Int) -> Int {
    let n = count
    let longest = Swift.min(SeasonalCheck.longestPeriod, n / 3)
    guard longest >= 2 else { return 0 }
    return means.withUnsafeBufferPointer { all in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { centred in
        let x = all.baseAddress! + c * SeasonalCheck.history
        let d = centred.baseAddress!
        var mean = 0.0
        for j in 0..<n { mean += Double(x[j]) }
        mean /= Double(n)
        for j in 0..<n { d[j] = Double(x[j]) - mean }
        let variance = Kernels.dot(d, d, n) / Double(n)
        guard variance > 0, variance.isFinite else { return 0 }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: longest + 1) { correlations in
          var firstCandidate = longest + 1
          var best = -Double.infinity
          for lag in 1...longest {
            let correlation = Kernels.dot(d + lag, d, n - lag) / Double(n - lag) / variance
            correlations[lag] = correlation
            if firstCandidate > longest {
              if correlation < 0 { firstCandidate = lag + 1 }
              continue
            }
            best = Swift.max(best, correlation)
          }
          guard best > minimumCorrelation else { return 0 }
          // Every multiple of a period correlates about as well as the period itself: the
          // shortest lag within `multipleTolerance` of the best is the period.
          for lag in firstCandidate...longest
          where correlations[lag] > minimumCorrelation && correlations[lag] >= best - SeasonalCheck.multipleTolerance {
            return lag
          }
          return 0
        }
      }
    }
  }

  func encode(into w: inout StateWriter) {
    w.write(means)
    w.write(reference)
    w.write(count)
    w.write(blocks)
    for period in periods { w.write(period) }
    tail.encode(into: &w)
    w.write(residuals)
  }

  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    let restored = try r.readFloats(max: 4096 * SeasonalCheck.history)
    let restoredReference = try r.readDoubles(max: 4096)
    let restoredCount = try r.readInt()
    let restoredBlocks = UInt64(try r.readCounter())
    var restoredPeriods = periods
    for c in restoredPeriods.indices { restoredPeriods[c] = try r.readInt() }
    guard restored.count == means.count, restored.allSatisfy(\.isFinite),
      restoredReference.count == reference.count, restoredReference.allSatisfy(\.isFinite),
      (0...SeasonalCheck.history).contains(restoredCount),
      restoredPeriods.allSatisfy({ (0...SeasonalCheck.longestPeriod).contains($0) })
    else { throw .invalid("seasonal check") }
    (means, reference, count, blocks, periods) = (
      restored, restoredReference, restoredCount, restoredBlocks, restoredPeriods
    )
    try tail.decode(from: &r, version: version)
    residuals = Swift.min(try r.readCounter(), SeasonalCheck.warmupResiduals)
  }
}
