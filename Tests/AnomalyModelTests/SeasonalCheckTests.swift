import XCTest

@testable import AnomalyModel

/// The period the seasonal check finds in block means, and where it finds none.
final class SeasonalCheckTests: XCTestCase {
  /// Feeds `blockMeans` (one channel) and returns the period found after the last one.
  private func period(of blockMeans: [Double]) -> Int {
    var check = SeasonalCheck(configuration: DetectorConfiguration(), channels: 1)
    for mean in blockMeans { _ = [mean].withUnsafeBufferPointer { check.add($0) { x, _ in x } } }
    return check.periods[0]
  }

  func testFindsTheDailyPeriodOfBlockMeans() {
    var rng = SplitMix64(seed: 3)
    let daily = (0..<96).map { b in 50 + 30 * sin(2 * .pi * Double(b) / 12) + gaussian(&rng) }
    XCTAssertEqual(period(of: daily), 12)
  }

  /// A random walk correlates strongly at short lags without repeating: the autocorrelation
  /// must turn negative before a lag can be a period.
  func testARandomWalkHasNoPeriod() {
    var rng = SplitMix64(seed: 4)
    var level = 0.0
    let walk = (0..<96).map { _ -> Double in
      level += gaussian(&rng)
      return level
    }
    XCTAssertEqual(period(of: walk), 0)
  }

  /// One unusual block is reported; the same phase one period later, an ordinary block again,
  /// is not, though it is as unlike the unusual block as that was unlike its own day before:
  /// it is also compared with the block two periods back.
  func testTheDayAfterAnUnusualDayIsNotReportedForBeingUnlikeIt() {
    var rng = SplitMix64(seed: 6)
    var check = SeasonalCheck(configuration: DetectorConfiguration(), channels: 1)
    var surprises: [Double] = []
    for b in 0..<240 {
      let mean = 50 + 30 * sin(2 * .pi * Double(b) / 12) + gaussian(&rng) - (b == 200 ? 20 : 0)
      surprises.append([mean].withUnsafeBufferPointer { check.add($0) { x, _ in x } })
    }
    XCTAssertEqual(check.periods, [12])
    let alarm = -log10(DetectorConfiguration().risk)
    XCTAssertGreaterThan(surprises[200], alarm)
    XCTAssertLessThan(surprises[212], alarm)
    XCTAssertLessThan(surprises[201..<240].max() ?? 0, alarm, "\(surprises[201...])")
  }

  /// A rhythm that explains too little of the variance is not trusted as a period.
  func testNoisyRhythmIsNotAPeriod() {
    var rng = SplitMix64(seed: 5)
    let noisy = (0..<96).map { b in 50 + 3 * sin(2 * .pi * Double(b) / 12) + 5 * gaussian(&rng) }
    XCTAssertEqual(period(of: noisy), 0)
  }
}
