import XCTest

@testable import AnomalyModel

final class DiscreteChannelsTests: XCTestCase {
  func testAChannelIsDiscreteUntilItTakesOneValueBeyondTheLimit() {
    var discrete = DiscreteChannels(channels: 2, limit: 2)
    func feed(_ values: [Double]) -> Double {
      values.withUnsafeBufferPointer { v in
        let s = discrete.surprise(v)
        discrete.update(v)
        return s
      }
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

  /// A telemetry reading beside a command channel that pulses now and then, as a spacecraft's
  /// channels come: without the check every pulse is the largest single channel's error and an
  /// event of reason `channel`; with it none is. (In a stream this narrow the pulse still
  /// dominates the joint error; among the nine channels of the telemetry corpus it does so
  /// less: docs/quality.md.) A flag channel that takes a new value is reported at once.
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
    XCTAssertGreaterThan(channelEvents(without), pulses.count / 2, "without the check each pulse is a channel event")
    XCTAssertTrue(with[flagRaised].anomaly)
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
