import XCTest

@testable import AnomalyModel

final class DiscreteChannelsTests: XCTestCase {
  func testAChannelIsDiscreteUntilItTakesOneValueBeyondTheLimit() {
    var discrete = DiscreteChannels(channels: 2, limit: 2, memory: 32)
    func feed(_ values: [Double]) -> Double {
      values.withUnsafeBufferPointer { discrete.observe($0).novelty }
    }
    XCTAssertEqual(feed([0, 1]), 0)  // the first reading: log10(1)
    for _ in 0..<98 { XCTAssertEqual(feed([0, 1]), 0) }
    // After 99 readings, a value never taken: log10(100).
    XCTAssertEqual(feed([1, 1]), 2, accuracy: 1e-12)
    XCTAssertEqual(feed([1, 1]), 0)  // taken before
    XCTAssertTrue(discrete.isDiscrete(0) && discrete.isDiscrete(1))
    XCTAssertEqual(feed([2, 1]), 2.0086, accuracy: 1e-4)  // a third value: new, and beyond the limit
    XCTAssertFalse(discrete.isDiscrete(0))
    XCTAssertTrue(discrete.isDiscrete(1))
    XCTAssertEqual(feed([7, 1]), 0)  // a continuous channel's values are not this check's
  }

  /// The rate surprise is the Chernoff bound of a Poisson count: 5 where 0.5 are expected is
  /// `5 − 4.5 / ln 10` decades; as many as expected, or fewer, is no evidence.
  func testTheRateSurpriseIsThePoissonChernoffBound() {
    XCTAssertEqual(DiscreteChannels.rateSurprise(recent: 5, expected: 0.5), 5 - 4.5 / log(10.0), accuracy: 1e-12)
    XCTAssertEqual(DiscreteChannels.rateSurprise(recent: 0.5, expected: 0.5), 0)
    XCTAssertEqual(DiscreteChannels.rateSurprise(recent: 0.2, expected: 0.5), 0)
  }

  /// An error flag that fires about once in a hundred readings is never unusual by its rate
  /// (below the default alarm level of 3); the same flag firing every third reading is, within
  /// a few readings, and so is a flag that stays raised.
  func testAFlagFiringMoreOftenThanUsualIsSurprising() {
    var rng = SplitMix64(seed: 3)
    var discrete = DiscreteChannels(channels: 3, limit: 4, memory: 32)
    func feed(_ values: [Double]) -> Double {
      values.withUnsafeBufferPointer { discrete.observe($0).rate }
    }
    var usual = 0.0
    for _ in 0..<5000 { usual = max(usual, feed([rng.next() % 100 == 0 ? 1 : 0, 0, 2])) }
    XCTAssertLessThan(usual, 3)
    let burst = (0..<60).map { t in feed([t % 3 == 0 ? 1 : 0, 0, 2]) }
    XCTAssertNil(burst[..<4].first { $0 > 3 }, "two or fewer pulses are not yet a burst")
    XCTAssertGreaterThan(burst[20...].min()!, 3)
    for _ in 0..<500 { _ = feed([0, 0, 2]) }
    let raised = (0..<40).map { _ in feed([0, 0, 3]) }
    XCTAssertGreaterThan(raised[10...].min()!, 3, "a flag that stays raised")
  }

  /// A telemetry reading beside a command channel that pulses now and then, as a spacecraft's
  /// channels come: without the check every pulse is the largest single channel's error and an
  /// event of reason `channel`; with it none is, nor any event of another reason. A flag
  /// channel that takes a new value is reported at once.
  func testCommandPulsesLeaveTheChannelTailAndANewFlagValueIsReported() {
    var rng = SplitMix64(seed: 5)
    var x = 0.0
    let flagRaised = 5000
    var nextCommand = 100
    let series = (0..<6000).map { t -> [Double] in
      x = 0.95 * x + 0.3 * gaussian(&rng)
      var command = 0.0
      if t == nextCommand {
        command = 1
        nextCommand += 150 + Int(rng.next() % 300)
      }
      return [10 + sin(Double(t) / 15) + x, command, 0, t >= flagRaised ? 1 : 0]
    }
    let pulses = series.indices.filter { series[$0][1] == 1 && $0 > 1000 && $0 < flagRaised }
    func channelEvents(_ results: [ScoredSample]) -> Int {
      pulses.filter { p in (p..<(p + 5)).contains { results[$0].anomaly && results[$0].reason == .channel } }.count
    }
    let with = detect(series)
    var off = DetectorConfiguration()
    off.discreteValues = 0
    let without = detect(series, configuration: off)
    XCTAssertGreaterThan(pulses.count, 10)
    XCTAssertEqual(channelEvents(with), 0)
    XCTAssertEqual(pulses.filter { p in (p..<(p + 5)).contains { with[$0].anomaly } }, [])
    XCTAssertGreaterThan(channelEvents(without), pulses.count / 2, "without the check each pulse is a channel event")
    XCTAssertTrue(with[flagRaised].anomaly)
  }

  /// A format 11 checkpoint has the discrete channels' values but not their counts: it
  /// restores with the counts starting over, and the rate check stays quiet while they build up
  /// (the long-run rate is taken as one away-reading a reading until counted otherwise).
  func testAVersionElevenStateRestoresWithItsCountsStartingOver() throws {
    var rng = SplitMix64(seed: 9)
    let series = (0..<1500).map { t -> [Double] in
      [sin(Double(t) / 9) + 0.1 * gaussian(&rng), t % 97 == 0 ? 1 : 0, 2]
    }
    let original = StreamDetector(configuration: DetectorConfiguration(), channels: 3)
    let workspace = DetectorWorkspace()
    for values in series[..<700] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let discrete = try XCTUnwrap(original.discrete)
    // Format 12 appended the number of readings counted, the recent rate, and per channel its
    // counts (a length and a double each).
    let added = 16 + discrete.values.reduce(0) { $0 + 4 + 8 * $1.count }
    let payload = Array(original.encodeState().dropFirst(10).dropLast(4 + added))
    let restored = try StreamDetector.decodeState(withHeader(payload, version: 11))
    XCTAssertEqual(restored.discrete?.values, discrete.values)
    XCTAssertEqual(restored.discrete?.counted, 0)
    let after = series[700...].map { values in values.withUnsafeBufferPointer { restored.process($0, workspace) } }
    XCTAssertNil(after.first { $0.reason == .flagRate })
    XCTAssertEqual(restored.discrete?.counted, 800)
  }

  /// A stream with a flag channel and a command channel, saved mid-stream, continues exactly.
  func testRestoredDiscreteChannelsContinueBitForBit() throws {
    var rng = SplitMix64(seed: 9)
    let series = (0..<1500).map { t -> [Double] in
      [sin(Double(t) / 9) + 0.1 * gaussian(&rng), t % 97 == 0 ? 1 : 0, t >= 1200 ? 3 : 2]
    }
    let original = StreamDetector(configuration: DetectorConfiguration(), channels: 3)
    XCTAssertNotNil(original.discrete)
    let workspace = DetectorWorkspace()
    for values in series[..<700] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    XCTAssertEqual(original.discrete?.continuous, [true, false, false])
    let blob = original.encodeState()
    let restored = try StreamDetector.decodeState(blob)
    XCTAssertEqual(restored.encodeState(), blob)
    XCTAssertEqual(restored.discrete, original.discrete)
    assertContinueIdentically(original, restored, on: series[700...])
  }
}
