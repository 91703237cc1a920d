import XCTest

@testable import AnomalyModel

/// The stuck-sensor check: a frozen reading is reported, a stream's normal plateaus are not.
final class StuckReadingTests: XCTestCase {
  /// A noisy daily-ish signal whose readings never repeat, frozen over `frozen`.
  func sensor(count: Int, frozen: [Range<Int>], seed: UInt64) -> [[Double]] {
    var rng = SplitMix64(seed: seed)
    var series: [[Double]] = []
    for i in 0..<count {
      if let spell = frozen.first(where: { $0.contains(i) }), i > spell.lowerBound {
        series.append(series[spell.lowerBound])
      } else {
        series.append([10 + 3 * sin(Double(i) * 2 * .pi / 288) + 0.3 * gaussian(&rng)])
      }
    }
    return series
  }

  func events(_ series: [[Double]], configuration: DetectorConfiguration = DetectorConfiguration()) -> [Int] {
    detect(series, configuration: configuration).enumerated().filter { $0.element.anomaly }.map(\.offset)
  }

  /// The model alone reconstructs a frozen reading perfectly; the check reports it within a
  /// few readings, once per spell, and a second spell as long as the first is reported again.
  func testFrozenSensorIsReportedOncePerSpell() {
    let spells = [2000..<2200, 4000..<4200]
    let series = sensor(count: 5000, frozen: spells, seed: 21)
    let results = detect(series)
    let found = results.enumerated().filter { $0.element.anomaly }.map(\.offset)
    for spell in spells {
      let inside = found.filter { spell.contains($0) }
      XCTAssertEqual(inside.count, 1, "spell \(spell): events \(found)")
      if let first = inside.first {
        XCTAssertLessThan(first - spell.lowerBound, 60, "late: \(found)")
        XCTAssertEqual(results[first].reason, .stuck)
      }
    }
    // The reconstruction alone does not see it. (The seasonal check, since this signal has a
    // daily period, does, at a block end: a frozen block differs from yesterday's.)
    var off = DetectorConfiguration()
    off.stuckMinimumRun = 0
    off.seasonalCorrelation = 0
    let withoutCheck = events(series, configuration: off)
    XCTAssertFalse(
      withoutCheck.contains { spells[0].contains($0) }, "the model alone should not see it: \(withoutCheck)")
  }

  /// Counts that sit at zero for a similar stretch every night: those runs are normal for
  /// this stream and raise nothing once one has been seen; a run three times as long does.
  func testNormalPlateausAreLearnedAndALongerOneIsNot() {
    var rng = SplitMix64(seed: 22)
    var check = StuckReadingCheck(channels: 1, minimumRun: 3, learningFactor: 0.1)
    let level = 3.0
    var surprises: [Double] = []
    for i in 0..<(288 * 10) {
      let night = i % 288 < 40 + Int(rng.next() % 8)
      let stalled = (288 * 8 + 100)..<(288 * 8 + 250)
      let value = night || stalled.contains(i) ? 0 : Double(5 + rng.next() % 20)
      surprises.append([value].withUnsafeBufferPointer { check.update($0, alarmLevel: level) })
    }
    let afterFirstNight = surprises[288..<(288 * 8)]
    XCTAssertEqual(afterFirstNight.filter { $0 > level }.count, 0, "a normal night raised evidence")
    XCTAssertTrue(surprises[(288 * 8 + 100)...].contains { $0 > level }, "a stalled day raised nothing")
    XCTAssertLessThanOrEqual(surprises.max() ?? 0, level + 0.5, "the surprise is capped")
  }

  /// The check's state travels with the detector: a restored stream in the middle of a run
  /// continues it exactly.
  /// A channel that has never moved (a configured limit beside a live sensor) is a constant,
  /// not a stuck sensor: it neither pins the score nor hides the live channel freezing.
  func testAConstantChannelIsNotStuck() {
    let series = sensor(count: 3000, frozen: [2000..<2200], seed: 5).map { $0 + [4096] }
    let results = detect(series)
    let calm = results[400..<2000]
    XCTAssertFalse(calm.contains { $0.reason == .stuck }, "the constant channel counted as stuck")
    XCTAssertLessThan(calm.filter(\.aboveThreshold).count, 40)
    let found = results.enumerated().filter { $0.element.anomaly && (2000..<2200).contains($0.offset) }
    XCTAssertEqual(found.first?.element.reason, .stuck, "the frozen live channel: \(found.map(\.offset))")
  }

  func testRunInProgressSurvivesARestore() throws {
    let series = sensor(count: 2600, frozen: [2000..<2300], seed: 23)
    let original = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    for values in series[..<2010] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    XCTAssertEqual(original.stuck.currentRun, 9)
    let restored = try StreamDetector.decodeState(original.encodeState())
    XCTAssertEqual(restored.stuck, original.stuck)
    assertContinueIdentically(original, restored, on: series[2010...])
  }

  func testEveryChannelIsWatched() {
    var check = StuckReadingCheck(channels: 3, minimumRun: 3, learningFactor: 0.1)
    var rng = SplitMix64(seed: 24)
    var peak = 0.0
    for i in 0..<3000 {
      let frozen = i >= 2000
      let row = [Double(rng.next() % 1000), frozen ? 7 : Double(rng.next() % 1000), Double(rng.next() % 1000)]
      let surprise = row.withUnsafeBufferPointer { check.update($0, alarmLevel: 3) }
      if !frozen { XCTAssertLessThanOrEqual(surprise, 3, "row \(i)") }
      peak = max(peak, surprise)
    }
    XCTAssertGreaterThan(peak, 3, "a frozen middle channel went unnoticed")
  }
}
