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

  /// A rhythm that explains too little of the variance is not trusted as a period.
  func testNoisyRhythmIsNotAPeriod() {
    var rng = SplitMix64(seed: 5)
    let noisy = (0..<96).map { b in 50 + 3 * sin(2 * .pi * Double(b) / 12) + 5 * gaussian(&rng) }
    XCTAssertEqual(period(of: noisy), 0)
  }
}
