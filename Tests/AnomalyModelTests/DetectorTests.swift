import XCTest

@testable import AnomalyModel

func gaussian(_ rng: inout SplitMix64) -> Double {
  let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300)
  let u2 = Double(rng.next() >> 11) / Double(1 << 53)
  return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
}

/// Runs a detector over a series and returns each point's result.
func detect(_ series: [[Double]], configuration: DetectorConfiguration = DetectorConfiguration()) -> [ScoredSample] {
  let detector = StreamDetector(configuration: configuration, channels: series[0].count)
  let workspace = DetectorWorkspace()
  return series.map { values in values.withUnsafeBufferPointer { detector.process($0, workspace) } }
}

/// Feeds `series` to both detectors and checks they score every sample identically: a restored
/// detector continues exactly as the one it was saved from.
func assertContinueIdentically(
  _ original: StreamDetector, _ restored: StreamDetector, on series: ArraySlice<[Double]>,
  file: StaticString = #filePath, line: UInt = #line
) {
  let (first, second) = (DetectorWorkspace(), DetectorWorkspace())
  for values in series {
    let a = values.withUnsafeBufferPointer { original.process($0, first) }
    let b = values.withUnsafeBufferPointer { restored.process($0, second) }
    XCTAssertEqual(a, b, file: file, line: line)
  }
}

final class DetectorTests: XCTestCase {
  func testSameInputAndSeedGiveIdenticalOutput() {
    var rng = SplitMix64(seed: 1)
    let series = (0..<2000).map { i in [sin(Double(i) / 7) + 0.1 * gaussian(&rng), Double(i % 13)] }
    XCTAssertEqual(detect(series), detect(series))
    var other = DetectorConfiguration()
    other.seed = 43
    XCTAssertNotEqual(detect(series).map(\.score), detect(series, configuration: other).map(\.score))
  }

  /// The reconstruction of x_t is fixed before x_t is seen: two detectors in the same state
  /// that are then given different values report the same expected value.
  /// `hidden = 0` and `warmup = 0` (the defaults) size the model and its warm-up from the
  /// channel count, and the detector keeps what it chose: its checkpoint names the model it
  /// holds and the warm-up it had, whatever the rule becomes. Values set by hand win.
  func testAutomaticSizeAndWarmupFollowTheChannelCount() throws {
    let automatic = DetectorConfiguration()
    XCTAssertEqual(automatic.hidden, 0)
    XCTAssertEqual(automatic.warmup, 0)
    XCTAssertNil(automatic.validationError())
    for (channels, hidden, warmup) in [(1, 8, 200), (2, 16, 400), (12, 16, 400)] {
      let detector = StreamDetector(configuration: automatic, channels: channels)
      XCTAssertEqual(detector.model.shape.hidden, hidden)
      XCTAssertEqual(detector.configuration.hidden, hidden)
      XCTAssertEqual(detector.configuration.warmup, warmup)
      let restored = try StreamDetector.decodeState(detector.encodeState())
      XCTAssertEqual(restored.configuration.hidden, hidden)
      XCTAssertEqual(restored.configuration.warmup, warmup)
      XCTAssertEqual(restored.model.shape, detector.model.shape)
    }
    var fixed = automatic
    fixed.hidden = 12
    fixed.warmup = 100
    let detector = StreamDetector(configuration: fixed, channels: 3)
    XCTAssertEqual(detector.model.shape.hidden, 12)
    XCTAssertEqual(detector.configuration.warmup, 100)
    fixed.warmup = 0
    XCTAssertEqual(StreamDetector(configuration: fixed, channels: 1).configuration.warmup, 300)
    fixed.hidden = -1
    XCTAssertEqual(fixed.validationError()?.key, "hidden")
    fixed.hidden = 0
    fixed.warmup = 8
    XCTAssertEqual(fixed.validationError()?.key, "warmup")
  }

  /// Streams of 2 up to `cross_channel_limit` (64) channels get the cross-channel check; one
  /// channel has nothing to check against, and a wider stream would pay `channels²` weights.
  func testCrossChannelCheckCoversStreamsUpToItsLimit() {
    let configuration = DetectorConfiguration()
    for (channels, expected) in [(1, false), (2, true), (55, true), (64, true), (65, false)] {
      XCTAssertEqual(
        StreamDetector(configuration: configuration, channels: channels).checksCrossChannel, expected, "\(channels)")
    }
  }

  /// A daily cycle (24 readings) whose level sags by 1.5 and whose swing narrows for ten days:
  /// every reading stays inside the stream's range and close to its neighbours, so no single
  /// error stands out at first, but each block mean (the cycle averages out) falls three times
  /// the readings' noise below all earlier ones. The slow scale reports it, at the end of the
  /// first sagging block; without it the first event comes four blocks later (the
  /// reconstruction error, once the refitted read-out has made it sharp enough; with the SGD
  /// read-out alone the detector stayed silent throughout). That is without the history
  /// attention; with it (the default), the reconstruction from the same hour of earlier days
  /// makes the narrowed swing an error from the sag's first readings.
  func testSlowScaleCatchesASagThatNoSingleReadingShows() {
    var rng = SplitMix64(seed: 5)
    let sag = 2400..<2640
    let series = (0..<3000).map { t -> [Double] in
      let inside = sag.contains(t)
      let swing = (inside ? 3.5 : 5) * sin(2 * .pi * Double(t) / 24)
      return [10 + swing - (inside ? 1.5 : 0) + 0.5 * gaussian(&rng)]
    }
    var noHistory = DetectorConfiguration()
    noHistory.historyLength = 0
    let inSag = detect(series, configuration: noHistory).enumerated().filter {
      $0.element.anomaly && sag.contains($0.offset)
    }
    XCTAssertEqual(inSag.first?.element.reason, .slow)
    XCTAssertEqual(inSag.first?.offset, sag.lowerBound + 23)
    let withHistory = detect(series).enumerated().filter { $0.element.anomaly && sag.contains($0.offset) }
    XCTAssertLessThan(withHistory.first?.offset ?? .max, sag.lowerBound + 23, "\(withHistory.map(\.offset))")
    var without = noHistory
    without.slowBlock = 0
    let late = detect(series, configuration: without).enumerated().filter {
      $0.element.anomaly && sag.contains($0.offset)
    }
    XCTAssertGreaterThan(late.first?.offset ?? .max, sag.lowerBound + 4 * 24, "\(late.map(\.offset))")
  }

  /// Asserts that the first event inside `window` has `reason`, and that with `disable` applied
  /// to the default configuration no event fires inside it; returns that first event's offset.
  func assertOnlyCaught(
    by reason: AnomalyReason, in window: Range<Int>, of series: [[Double]],
    file: StaticString = #filePath, line: UInt = #line, disabling disable: (inout DetectorConfiguration) -> Void
  ) -> Int? {
    let inWindow = detect(series).enumerated().filter { $0.element.anomaly && window.contains($0.offset) }
    XCTAssertEqual(
      inWindow.first?.element.reason, reason, "\(inWindow.map { ($0.offset, $0.element.reason) })", file: file,
      line: line)
    var without = DetectorConfiguration()
    disable(&without)
    let silent = detect(series, configuration: without).enumerated().filter {
      $0.element.anomaly && window.contains($0.offset)
    }
    XCTAssertTrue(silent.isEmpty, "\(silent.map(\.offset))", file: file, line: line)
    return inWindow.first?.offset
  }

  /// A machine on a daily schedule (readings every 5 minutes: low at night, a ramp up to a
  /// plateau by day) whose ramp does not come one day, like NAB's `art_daily_nojump`: every
  /// reading of that day is one the machine shows each night. The seasonal check, comparing
  /// each block with the block a day earlier, reports it; without it nothing fires that day.
  func testSeasonalCheckCatchesAMissingDailyRamp() {
    var rng = SplitMix64(seed: 8)
    let day = 288
    let quietDay = (10 * day)..<(11 * day)
    let series = (0..<(14 * day)).map { t -> [Double] in
      let minute = t % day
      let busy = (96..<216).contains(minute) && !quietDay.contains(t)
      return [(busy ? 80.0 : 20) + gaussian(&rng)]
    }
    let first = assertOnlyCaught(by: .seasonal, in: quietDay, of: series) { $0.seasonalCorrelation = 0 }
    XCTAssertLessThan(first ?? .max, quietDay.lowerBound + 120 + 24)
  }

  /// A machine whose three channels follow one unpredictable load (a slow random process) with
  /// gains of their own; for 300 readings the third channel follows a load of its own drawn
  /// from the same process instead, each of its values still in its usual range and its
  /// history as unpredictable as ever. Only the channels' relation to each other changes: the
  /// cross-channel check reports it at once. Without it, the trend tail notices only after the
  /// model's errors have piled up for a while.
  func testCrossChannelCheckCatchesADecoupledChannelAtOnce() {
    var rng = SplitMix64(seed: 11)
    var (load, own) = (0.0, 0.0)
    let decoupled = 4000..<4300
    let series = (0..<5000).map { t -> [Double] in
      load = 0.98 * load + gaussian(&rng)
      own = 0.98 * own + gaussian(&rng)
      let third = decoupled.contains(t) ? own : load
      return [
        load + 0.2 * gaussian(&rng), 0.6 * load + 5 + 0.2 * gaussian(&rng), -0.8 * third + 40 + 0.2 * gaussian(&rng),
      ]
    }
    func firstEvent(_ results: [ScoredSample]) -> (offset: Int, reason: AnomalyReason)? {
      results.enumerated().first { $0.element.anomaly && decoupled.contains($0.offset) }.map {
        ($0.offset, $0.element.reason)
      }
    }
    let scored = detect(series)
    let with = firstEvent(scored)
    XCTAssertEqual(with?.reason, .decoupled)
    // While the channels agree, the check raises nothing.
    XCTAssertFalse(scored[..<decoupled.lowerBound].contains { $0.anomaly && $0.reason == .decoupled })
    XCTAssertLessThan(with?.offset ?? .max, decoupled.lowerBound + 10)
    var off = DetectorConfiguration()
    off.crossChannelLimit = 0
    let without = firstEvent(detect(series, configuration: off))
    XCTAssertGreaterThan(without?.offset ?? .max, decoupled.lowerBound + 50, "\(String(describing: without))")
  }

  /// A stream that changes for good (a new level, three times the noise) is an incident once,
  /// then the new normal. Points above the threshold are learned at a tenth of the rate, so
  /// that a fault is not learned as normal; but once a tenth of the recent points are above
  /// it, relearning (`relearn_fraction`) learns them in full, and the stream stops exceeding
  /// its threshold much sooner than with the slowed learning throughout.
  func testALastingChangeIsRelearnedSooner() {
    var rng = SplitMix64(seed: 21)
    var x = 0.0
    let change = 3000
    let series = (0..<4000).map { t -> [Double] in
      x = 0.9 * x + gaussian(&rng)
      return t < change ? [20 + x + 5 * sin(Double(t) / 20)] : [60 + 3 * x + 5 * sin(Double(t) / 20)]
    }
    var slowed = DetectorConfiguration()
    slowed.relearnFraction = 0
    func exceedances(_ configuration: DetectorConfiguration) -> (above: Int, first: Int?) {
      let results = detect(series, configuration: configuration)
      let after = results[change..<(change + 300)]
      return (after.filter(\.aboveThreshold).count, after.firstIndex { $0.anomaly })
    }
    let (relearned, slowly) = (exceedances(DetectorConfiguration()), exceedances(slowed))
    XCTAssertEqual(relearned.first, change, "the change itself is reported either way")
    XCTAssertEqual(slowly.first, change)
    XCTAssertLessThan(Double(relearned.above), 0.7 * Double(slowly.above), "\(relearned.above) vs \(slowly.above)")
  }

  func testReconstructionCannotSeeTheValueItScores() {
    var rng = SplitMix64(seed: 5)
    let prefix = (0..<500).map { i in [10 * sin(Double(i) / 5) + gaussian(&rng)] }
    let a = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let b = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspaceA = DetectorWorkspace()
    let workspaceB = DetectorWorkspace()
    for values in prefix {
      _ = values.withUnsafeBufferPointer { a.process($0, workspaceA) }
      _ = values.withUnsafeBufferPointer { b.process($0, workspaceB) }
    }
    // One ordinary value and one absurd one: the reconstruction must not move.
    let resultA = [10 * sin(500.0 / 5)].withUnsafeBufferPointer { a.process($0, workspaceA) }
    let resultB = [3000.0].withUnsafeBufferPointer { b.process($0, workspaceB) }
    XCTAssertEqual(workspaceA.expected, workspaceB.expected, "the expected value depends on the scored value")
    XCTAssertLessThan(resultA.error, resultB.error)
    XCTAssertFalse(resultA.anomaly)
    XCTAssertTrue(resultB.anomaly)
  }

  func testScoresStayInUnitIntervalAndWarmupRaisesNoAlarm() {
    var rng = SplitMix64(seed: 3)
    let series = (0..<3000).map { i in [i % 500 == 499 ? 1e6 : gaussian(&rng)] }
    let results = detect(series)
    for (i, r) in results.enumerated() {
      XCTAssert(r.score >= 0 && r.score <= 1 && r.score.isFinite, "score \(r.score) at \(i)")
      if i < DetectorConfiguration().warmupLength(channels: 1) { XCTAssertFalse(r.anomaly) }
    }
  }

  func testResetStartsOver() {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    let fresh = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let freshWorkspace = DetectorWorkspace()
    for i in 0..<400 { _ = [Double(i % 10)].withUnsafeBufferPointer { detector.process($0, workspace) } }
    detector.reset()
    XCTAssertTrue(detector.isWarmingUp)
    for i in 0..<50 {
      let a = [Double(i)].withUnsafeBufferPointer { detector.process($0, workspace) }
      let b = [Double(i)].withUnsafeBufferPointer { fresh.process($0, freshWorkspace) }
      XCTAssertEqual(a, b)
    }
  }
}

final class RangeTests: XCTestCase {
  /// A reading well beyond anything the stream has shown is flagged even if the model's error
  /// tail alone would not be sure; one just beyond the old range (within the default
  /// `range_tolerance` of 10 % of the span) is not.
  func testReadingsBeyondTheHistoricalRange() {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    for i in 0..<1000 { _ = [Double(i % 11)].withUnsafeBufferPointer { detector.process($0, workspace) } }
    XCTAssertEqual([10.9].withUnsafeBufferPointer { detector.rangeExcess($0) }, 0)
    XCTAssertEqual([11.5].withUnsafeBufferPointer { detector.rangeExcess($0) }, 0.15, accuracy: 1e-12)
    XCTAssertEqual([-2.0].withUnsafeBufferPointer { detector.rangeExcess($0) }, 0.2, accuracy: 1e-12)
    let result = [11.5].withUnsafeBufferPointer { detector.process($0, workspace) }
    XCTAssertTrue(result.aboveThreshold)
    XCTAssertGreaterThan(result.score, result.threshold)
    XCTAssertEqual(result.reason, .range)
  }
}
